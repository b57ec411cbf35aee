"""What the dashboards say, in English, Russian and Persian (right to left): page texts, and for every figure and
rubric criterion a plain name, its definition, its unit and its target.

Targets come from the default rubric (``kiosk/data/rubrics/default.toml``: the band a criterion counts as met) and from the
alert settings, so the page states the number it is judged against instead of "within target".
"""

from __future__ import annotations

from functools import cache
from typing import Final

LANGS: Final = ("en", "ru", "fa")
RTL: Final = frozenset({"fa"})
NATIVE: Final = {"en": "English", "ru": "Русский", "fa": "فارسی"}
RUBRIC = "default"  # the shipped rubric whose bands the pages quote as targets (kiosk/data/rubrics)

# key: (en, ru, fa)
UI: Final[dict[str, tuple[str, str, str]]] = {
    "sign_out": ("Sign out", "Выйти", "خروج"),
    "sign_in": ("Sign in", "Войти", "ورود"),
    "username": ("Username", "Имя пользователя", "نام کاربری"),
    "password": ("Password", "Пароль", "گذرواژه"),
    "wrong_login": ("Wrong username or password.", "Неверное имя или пароль.", "نام کاربری یا گذرواژه نادرست است."),
    "language": ("Language", "Язык", "زبان"),
    "welcome": ("Welcome, {name}", "Здравствуйте, {name}", "خوش آمدید، {name}"),
    "regions": ("Regions", "Регионы", "مناطق"),
    "stores": ("Stores", "Магазины", "فروشگاه‌ها"),
    "no_stores": ("No stores yet.", "Магазинов пока нет.", "هنوز فروشگاهی نیست."),
    "region": ("Region {name}", "Регион {name}", "منطقه {name}"),
    "day": ("Day", "День", "روز"),
    "week": ("Week", "Неделя", "هفته"),
    "month": ("Month", "Месяц", "ماه"),
    "show": ("Show", "Показать", "نمایش"),
    "date": ("Date", "Дата", "تاریخ"),
    "from": ("From", "С", "از"),
    "to": ("To", "По", "تا"),
    "previous": ("Previous", "Назад", "قبلی"),
    "next": ("Next", "Вперёд", "بعدی"),
    "csv": ("CSV for Excel", "CSV для Excel", "CSV برای اکسل"),
    "period_day": ("{first}", "{first}", "{first}"),
    "period_range": ("{first} to {last}", "{first} — {last}", "{first} تا {last}"),
    "latest_note": ("Showing the latest day with data.", "Показан последний день с данными.",
                    "آخرین روزی که داده دارد نمایش داده شده است."),
    "no_data": ("No figures for this period: the terminal sent nothing (closed, quiet, or not synced yet).",
                "Нет данных за этот период: терминал ничего не прислал (закрыто, не было покупателей или ещё не "
                "синхронизировано).",
                "برای این دوره داده‌ای نیست: دستگاه چیزی نفرستاده است (تعطیل، خلوت یا هنوز همگام نشده)."),
    "vs_7": ("{change} vs previous 7 days", "{change} к прошлым 7 дням", "{change} نسبت به ۷ روز پیش"),
    "vs_prev": ("{change} vs previous period", "{change} к прошлому периоду", "{change} نسبت به دوره قبل"),
    "target": ("Target", "Цель", "هدف"),
    "unit": ("Unit", "Единица", "واحد"),
    "what_it_is": ("What it is", "Что это", "تعریف"),
    "figures": ("Figures", "Показатели", "شاخص‌ها"),
    "glossary": ("What the figures mean", "Что означают показатели", "معنی شاخص‌ها"),
    "by_hour": ("Satisfaction and customers by hour", "Удовлетворённость и покупатели по часам",
                "رضایت و مشتریان بر حسب ساعت"),
    "heat": ("Customers by weekday and hour, last 4 weeks", "Покупатели по дням недели и часам, 4 недели",
             "مشتریان بر حسب روز هفته و ساعت، ۴ هفته اخیر"),
    "heat_note": ("Mean customers per hour; darker is busier. Hatched: no hourly figures (quiet hours are sent "
                  "only merged into the day, for privacy).",
                  "Среднее число покупателей в час; темнее — больше. Штриховка: нет почасовых данных (тихие часы "
                  "передаются только в сумме за день ради приватности).",
                  "میانگین مشتریان در ساعت؛ تیره‌تر یعنی شلوغ‌تر. هاشور: داده ساعتی نیست (ساعت‌های خلوت برای حریم "
                  "خصوصی فقط در جمع روز فرستاده می‌شوند)."),
    "ratings": ("Ratings", "Оценки", "امتیازها"),
    "reasons": ("What customers said stood out", "Что отметили покупатели", "آنچه مشتریان گفتند"),
    "reasons_good": ("Good", "Хорошо", "خوب"),
    "reasons_bad": ("Bad", "Плохо", "بد"),
    "no_reasons": ("No follow-up answers in this period.", "За этот период ответов нет.",
                   "در این دوره پاسخی نیامده است."),
    "criteria": ("Service standard (rubric): share of customers within each target",
                 "Стандарт обслуживания: доля покупателей в пределах каждой цели",
                 "استاندارد خدمت: سهم مشتریانی که در هدف هر معیار بودند"),
    "criterion": ("Criterion", "Критерий", "معیار"),
    "met": ("Met", "Выполнено", "برآورده"),
    "judged": ("Judged", "Оценено", "سنجیده"),
    "share": ("Share", "Доля", "سهم"),
    "no_criteria": ("No rubric figures for this period.", "Нет данных по стандарту за этот период.",
                    "برای این دوره داده معیاری نیست."),
    "alerts": ("Alerts", "Оповещения", "هشدارها"),
    "no_alerts": ("No alerts.", "Оповещений нет.", "هشداری نیست."),
    "manager_calls": ("Manager calls", "Вызовы менеджера", "درخواست‌های مدیر"),
    "call_open": ("A customer asked for a manager at {time} ({device})", "Покупатель позвал менеджера в {time} ({device})",
                  "مشتری در ساعت {time} مدیر را خواست ({device})"),
    "no_calls": ("No manager calls.", "Вызовов менеджера нет.", "درخواست مدیری نبود."),
    "terminals": ("Terminals, now", "Терминалы сейчас", "دستگاه‌ها، اکنون"),
    "device": ("Device", "Устройство", "دستگاه"),
    "heartbeat": ("Heartbeat", "Сигнал", "ضربان"),
    "last_heartbeat": ("Last heartbeat", "Последний сигнал", "آخرین ضربان"),
    "last_sync": ("Last sync received", "Последняя синхронизация", "آخرین همگام‌سازی"),
    "version": ("Version", "Версия", "نسخه"),
    "outbox": ("Outbox", "Очередь", "صف ارسال"),
    "fps": ("Frames/s", "Кадров/с", "فریم/ثانیه"),
    "clock_offset": ("Clock offset", "Сдвиг часов", "اختلاف ساعت"),
    "compare_title": ("Stores of {region}, {period}", "Магазины региона {region}, {period}",
                      "فروشگاه‌های {region}، {period}"),
    "rank_on": ("Rank on", "Сортировать по", "رتبه بر اساس"),
    "order": ("Order", "Порядок", "ترتیب"),
    "best_first": ("best first", "сначала лучшие", "بهترین اول"),
    "worst_first": ("worst first", "сначала худшие", "بدترین اول"),
    "store": ("Store", "Магазин", "فروشگاه"),
    "region_median": ("Region median", "Медиана региона", "میانه منطقه"),
    "weekly": ("Weekly: satisfaction, p90 wait", "По неделям: удовлетворённость, ожидание p90",
               "هفتگی: رضایت، انتظار p90"),
    "no_data_badge": ("no data", "нет данных", "بدون داده"),
    "silent": ("{device} silent", "{device} молчит", "{device} خاموش"),
    "silent_since": ("Device {device} silent since {at}", "Устройство {device} молчит с {at}",
                     "دستگاه {device} از {at} خاموش است"),
    "never_synced": ("Device {device} silent: never synced", "Устройство {device} ни разу не присылало данные",
                     "دستگاه {device} هرگز همگام نشده است"),
    "stale_since": ("Device {device} stale: last heartbeat {at}", "Устройство {device} без сигнала: последний {at}",
                    "دستگاه {device} بی‌پاسخ: آخرین ضربان {at}"),
    "stale": ("{device} stale", "{device} без сигнала", "{device} بی‌پاسخ"),
    "no_device": ("no device", "нет устройства", "بدون دستگاه"),
    "compare_note": ("Ranked on the overall index unless you choose another figure. Percentiles over several "
                     "hours or days are pooled (weighted by count). Highlighted cells lie far from the region's "
                     "median. “—” is no data, not zero.",
                     "Рейтинг по общему индексу, если не выбран другой показатель. Перцентили за несколько часов "
                     "или дней объединены (взвешены по числу). Выделены значения далеко от медианы региона. "
                     "«—» — нет данных, а не ноль.",
                     "رتبه‌بندی بر اساس شاخص کلی است مگر شاخص دیگری انتخاب شود. صدک‌های چند ساعت یا روز با وزن "
                     "تعداد ترکیب شده‌اند. خانه‌های پررنگ از میانه منطقه دورند. «—» یعنی داده نیست، نه صفر."),
    "error_title": ("Something is not right", "Что-то не так", "مشکلی هست"),
    "error_back": ("Back to the start page", "На главную", "بازگشت به صفحه اصلی"),
    "error_403": ("This page belongs to a store or region you may not see.",
                  "Эта страница относится к магазину или региону, который вам недоступен.",
                  "این صفحه مربوط به فروشگاه یا منطقه‌ای است که به آن دسترسی ندارید."),
    "error_404": ("There is no such page, store or region.", "Такой страницы, магазина или региона нет.",
                  "چنین صفحه، فروشگاه یا منطقه‌ای وجود ندارد."),
    "error_422": ("The address holds a value the page cannot use:", "В адресе значение, которое страница не может "
                  "использовать:", "نشانی مقداری دارد که صفحه نمی‌تواند به کار ببرد:"),
    "hour": ("Hour", "Час", "ساعت"),
    "customers": ("customers", "покупателей", "مشتری"),
}
WEEKDAYS: Final = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "ru": ("Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс"),
    "fa": ("دوشنبه", "سه‌شنبه", "چهارشنبه", "پنجشنبه", "جمعه", "شنبه", "یکشنبه"),
}
REASON_NAMES: Final[dict[str, tuple[str, str, str]]] = {
    "quick": ("Quick service", "Быстрое обслуживание", "خدمت سریع"),
    "friendly": ("Friendly staff", "Вежливый сотрудник", "برخورد خوب"),
    "helpful": ("Got the help they needed", "Помогли", "کمک لازم را گرفتند"),
    "waiting": ("Long wait", "Долгое ожидание", "انتظار طولانی"),
    "attitude": ("Unfriendly staff", "Невежливый сотрудник", "برخورد نامناسب"),
    "competence": ("Could not help", "Не смогли помочь", "نتوانستند کمک کنند"),
}

# figure: name, definition, unit, target (each (en, ru, fa)); {fields} in targets come from the rubric/settings.
Entry = tuple[tuple[str, str, str], tuple[str, str, str], tuple[str, str, str], tuple[str, str, str]]
HIGHER = ("higher is better", "чем выше, тем лучше", "بیشتر بهتر است")
FIGURE_TEXT: Final[dict[str, Entry]] = {
    "satisfaction_index": (
        ("Satisfaction index", "Индекс удовлетворённости", "شاخص رضایت"),
        ("The mean face rating on a 0-100 scale: 0 = everyone chose the unhappiest face, 100 = the happiest.",
         "Средняя оценка по шкале 0-100: 0 — все выбрали самое грустное лицо, 100 — самое весёлое.",
         "میانگین امتیاز در مقیاس ۰ تا ۱۰۰: ۰ یعنی همه ناراضی‌ترین چهره، ۱۰۰ یعنی راضی‌ترین."),
        ("points, 0-100", "баллы, 0-100", "امتیاز، ۰ تا ۱۰۰"),
        ("67 or more (an average of “satisfied”)", "67 и выше (в среднем «доволен»)", "۶۷ یا بیشتر (میانگین «راضی»)")),
    "overall_index": (
        ("Overall index", "Общий индекс", "شاخص کلی"),
        ("Mean of satisfaction index, % greeted within target, % served within the wait target and % who stayed.",
         "Среднее из индекса удовлетворённости, % поприветствованных вовремя, % обслуженных без долгого ожидания "
         "и % не ушедших.",
         "میانگین شاخص رضایت، درصد خوش‌آمد به‌موقع، درصد خدمت بدون انتظار طولانی و درصد کسانی که ماندند."),
        ("points, 0-100", "баллы, 0-100", "امتیاز، ۰ تا ۱۰۰"), HIGHER),
    "interactions": (
        ("Customers", "Покупатели", "مشتریان"),
        ("Customers the camera saw come to the counter (in the queue or service spot for at least 1 s).",
         "Покупатели, подошедшие к стойке (в очереди или у стойки не меньше 1 с).",
         "مشتریانی که دوربین دید به پیشخوان آمدند (دست‌کم ۱ ثانیه در صف یا جای خدمت)."),
        ("customers", "человек", "نفر"), ("no target: it is the volume", "без цели: это объём", "بدون هدف: حجم کار است")),
    "response_rate": (
        ("Ratings per customer", "Оценок на покупателя", "امتیاز به ازای هر مشتری"),
        ("Face taps divided by customers seen: how many customers answered.",
         "Число оценок, делённое на число покупателей: сколько ответили.",
         "تعداد امتیازها تقسیم بر مشتریان: چند نفر پاسخ دادند."),
        ("%", "%", "درصد"), HIGHER),
    "greeted_within_target_share": (
        ("Greeted in time", "Поприветствованы вовремя", "خوش‌آمد به‌موقع"),
        ("Share of customers a staff member turned to (within 2 m, for 1 s) within the greeting target.",
         "Доля покупателей, к которым сотрудник обратился (ближе 2 м, от 1 с) в пределах цели.",
         "سهم مشتریانی که کارمند در زمان هدف رو به آن‌ها کرد (کمتر از ۲ متر، دست‌کم ۱ ثانیه)."),
        ("% of customers", "% покупателей", "درصد مشتریان"),
        ("greeting within {greeting} (rubric), higher is better", "приветствие за {greeting} (стандарт), чем выше, тем лучше",
         "خوش‌آمد در {greeting} (استاندارد)، بیشتر بهتر است")),
    "greeted_share": (
        ("Greeted at all", "Поприветствованы", "خوش‌آمد گفته شد"),
        ("Share of customers a staff member turned to at any time.",
         "Доля покупателей, к которым сотрудник обратился хоть раз.",
         "سهم مشتریانی که کارمند در هر زمانی رو به آن‌ها کرد."),
        ("% of customers", "% покупателей", "درصد مشتریان"), ("100 %", "100 %", "۱۰۰ درصد")),
    "abandoned_share": (
        ("Left before service", "Ушли без обслуживания", "پیش از خدمت رفتند"),
        ("Share of customers who left before being served.", "Доля покупателей, ушедших до обслуживания.",
         "سهم مشتریانی که پیش از خدمت رفتند."),
        ("% of customers", "% покупателей", "درصد مشتریان"), ("lower is better", "чем ниже, тем лучше", "کمتر بهتر است")),
    "greeting_p50_s": (
        ("Time to greeting, typical", "Время до приветствия, обычно", "زمان تا خوش‌آمد، معمول"),
        ("Median seconds from arrival to the first greeting: half the customers waited less.",
         "Медиана секунд от прихода до приветствия: половина ждала меньше.",
         "میانه ثانیه‌ها از رسیدن تا نخستین خوش‌آمد: نیمی کمتر منتظر ماندند."),
        ("seconds", "секунды", "ثانیه"), ("{greeting} or less", "{greeting} или меньше", "{greeting} یا کمتر")),
    "greeting_p90_s": (
        ("Time to greeting, slowest 10 %", "Время до приветствия, худшие 10 %", "زمان تا خوش‌آمد، ۱۰ درصد کندتر"),
        ("90th percentile: 9 in 10 customers were greeted sooner than this.",
         "90-й перцентиль: 9 из 10 покупателей поприветствованы быстрее.",
         "صدک ۹۰: ۹ نفر از ۱۰ نفر زودتر از این خوش‌آمد شنیدند."),
        ("seconds", "секунды", "ثانیه"), ("{greeting} or less", "{greeting} или меньше", "{greeting} یا کمتر")),
    "wait_p50_s": (
        ("Wait, typical", "Ожидание, обычно", "انتظار، معمول"),
        ("Median seconds from arrival to the start of service.", "Медиана секунд от прихода до начала обслуживания.",
         "میانه ثانیه‌ها از رسیدن تا آغاز خدمت."),
        ("seconds", "секунды", "ثانیه"), ("{wait} or less", "{wait} или меньше", "{wait} یا کمتر")),
    "wait_p90_s": (
        ("Wait, slowest 10 %", "Ожидание, худшие 10 %", "انتظار، ۱۰ درصد کندتر"),
        ("90th percentile of the wait: 9 in 10 customers were served sooner.",
         "90-й перцентиль ожидания: 9 из 10 обслужены быстрее.", "صدک ۹۰ انتظار: ۹ نفر از ۱۰ نفر زودتر خدمت گرفتند."),
        ("seconds", "секунды", "ثانیه"),
        ("{wait} or less; alert at {alert_wait}", "{wait} или меньше; оповещение от {alert_wait}",
         "{wait} یا کمتر؛ هشدار از {alert_wait}")),
    "eye_contact_ratio": (
        ("Facing each other", "Обращены друг к другу", "رو به هم بودن"),
        ("Mean share of the service time in which staff and customer faced each other (the camera's stand-in "
         "for eye contact).",
         "Средняя доля времени обслуживания, когда сотрудник и покупатель были обращены друг к другу (замена "
         "зрительного контакта для камеры).",
         "میانگین سهم زمان خدمت که کارمند و مشتری رو به هم بودند (جایگزین تماس چشمی برای دوربین)."),
        ("% of service time", "% времени обслуживания", "درصد زمان خدمت"),
        ("{facing} of the time, not more (insistent) nor less", "{facing} времени, не больше и не меньше",
         "{facing} از زمان، نه بیشتر نه کمتر")),
    "distance_p50_m": (
        ("Distance, typical", "Расстояние, обычно", "فاصله، معمول"),
        ("Median distance between staff and customer during service.",
         "Медиана расстояния между сотрудником и покупателем при обслуживании.",
         "میانه فاصله کارمند و مشتری در زمان خدمت."),
        ("metres", "метры", "متر"), ("{distance}", "{distance}", "{distance}")),
    "distance_p90_m": (
        ("Distance, widest 10 %", "Расстояние, дальние 10 %", "فاصله، ۱۰ درصد دورتر"),
        ("90th percentile of the distance during service.", "90-й перцентиль расстояния при обслуживании.",
         "صدک ۹۰ فاصله در زمان خدمت."),
        ("metres", "метры", "متر"), ("{distance}", "{distance}", "{distance}")),
    "rating_mean": (
        ("Mean rating", "Средняя оценка", "میانگین امتیاز"),
        ("Mean of the face taps, 1 (unhappy) to 4 (happy).", "Среднее по лицам, от 1 (грустное) до 4 (весёлое).",
         "میانگین امتیازها، از ۱ (ناراضی) تا ۴ (راضی)."),
        ("1-4", "1-4", "۱ تا ۴"), ("3 or more", "3 и выше", "۳ یا بیشتر")),
    "low_rating_share": (
        ("Unhappy ratings", "Плохие оценки", "امتیازهای ناراضی"),
        ("Share of ratings that are one of the two unhappy faces.", "Доля оценок с одним из двух грустных лиц.",
         "سهم امتیازهایی که یکی از دو چهره ناراضی است."),
        ("% of ratings", "% оценок", "درصد امتیازها"),
        ("below {alert_low}", "ниже {alert_low}", "کمتر از {alert_low}")),
    "ratings_n": (
        ("Ratings", "Оценки", "امتیازها"), ("Face taps counted.", "Учтённые касания.", "لمس‌های شمرده‌شده."),
        ("taps", "касаний", "لمس"), HIGHER),
}
CRITERION_TEXT: Final[dict[str, tuple[str, str, str]]] = {
    "greeting_prompt": ("Greeted within {band}", "Приветствие за {band}", "خوش‌آمد در {band}"),
    "greeting_coverage": ("Greeted at all", "Поприветствован", "خوش‌آمد گفته شد"),
    "wait_time": ("Served within {band}", "Обслужен за {band}", "خدمت در {band}"),
    "mutual_facing": ("Faced each other {band} of the service", "Обращены друг к другу {band} времени",
                      "رو به هم {band} از زمان خدمت"),
    "personal_distance": ("Stood {band} apart", "Расстояние {band}", "فاصله {band}"),
    "customer_rating": ("Rated {band}", "Оценка {band}", "امتیاز {band}"),
}


def _i(lang: str) -> int:
    return LANGS.index(lang) if lang in LANGS else 0


def t(key: str, lang: str, **fields: object) -> str:
    """The page text ``key`` in ``lang`` (English for an unknown language), fields filled in."""
    s = UI[key][_i(lang)]
    return s.format(**fields) if fields else s


def weekday(day: int, lang: str) -> str:
    return WEEKDAYS.get(lang, WEEKDAYS["en"])[day]


def reason_name(code: str, lang: str) -> str:
    return REASON_NAMES[code][_i(lang)] if code in REASON_NAMES else code


@cache
def rubric_bands() -> dict[str, tuple[float | None, float | None, str]]:
    """criterion id -> (good_min, good_max, measure) of the default rubric; empty when it is not shipped."""
    from kiosk.core.rubrics import RubricError, load_store_rubric

    try:
        rubric = load_store_rubric(RUBRIC)
    except (OSError, RubricError):
        return {}
    return {c.id: (c.band.good_min, c.band.good_max, c.measure) for c in rubric.criteria}


def _band_text(criterion: str) -> str:
    lo, hi, measure = rubric_bands().get(criterion, (None, None, ""))
    unit = {"greeting_s": " s", "wait_s": " s", "distance_m_median": " m", "rating": ""}.get(measure, "")

    def show(v: float, with_unit: bool = True) -> str:
        if measure == "eye_contact_ratio":
            return f"{v * 100:.0f}" + (" %" if with_unit else "")
        if measure in ("greeting_s", "wait_s") and v >= 120 and v % 60 == 0:
            return f"{v / 60:.0f} min"
        return f"{v:g}" + (unit if with_unit else "")

    if lo is not None and hi is not None:
        return f"{show(lo, with_unit=False)}-{show(hi)}"
    if hi is not None:
        return show(hi)
    if lo is not None:
        return f"{show(lo)}+" if measure != "greeted" else ""
    return "?"


def target_fields(alert_low_share: float, alert_p90_wait_s: float) -> dict[str, str]:
    return {
        "greeting": _band_text("greeting_prompt"), "wait": _band_text("wait_time"),
        "facing": _band_text("mutual_facing"), "distance": _band_text("personal_distance"),
        "alert_wait": f"{alert_p90_wait_s:g} s", "alert_low": f"{alert_low_share:.0%}",
    }


def figure_text(name: str, lang: str, fields: dict[str, str]) -> dict[str, str]:
    """{"name", "definition", "unit", "target"} of a figure in ``lang``."""
    i = _i(lang)
    n, d, u, tgt = FIGURE_TEXT[name]
    return {"name": n[i], "definition": d[i], "unit": u[i], "target": tgt[i].format(**fields)}


def criterion_name(criterion: str, lang: str) -> str:
    """A rubric criterion's human name with its band from the rubric, e.g. "Greeted within 10 s"."""
    if criterion not in CRITERION_TEXT:
        return criterion
    return CRITERION_TEXT[criterion][_i(lang)].format(band=_band_text(criterion)).strip()
