"""What the terminal says, in Russian, Persian and English, and how Persian is made displayable.

Kivy's text renderer draws code points left to right without shaping, so Persian is prepared here: letters are
replaced by their contextual presentation forms (``arabic_reshaper``) and each *line* is put in visual order
(``python-bidi``). Lines are broken before reordering (:func:`wrap_rtl`), otherwise a wrapped paragraph would
start with its last words. Persian numbers use Persian digits; the Arabic-script font has no Latin letters, so
Persian strings hold none (a test checks every string against its font).

The catalogue is plain data: a key's text in each language, with ``{n}``-style fields. Customer-facing texts
are short (RUBRIC-SOURCES R10: don't overload) and the privacy notice follows DESIGN §6.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import arabic_reshaper
from bidi import get_display

LANGUAGES: Final = ("ru", "fa", "en")
RTL: Final = frozenset({"fa"})
NATIVE_NAMES: Final = {"ru": "Русский", "fa": "فارسی", "en": "English"}
_FA_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ZWNJ = "\u200c"

CATALOGUE: Final[dict[str, dict[str, str]]] = {
    # ---- customer screens ---------------------------------------------------------------------------------
    "welcome": {"en": "Welcome", "ru": "Здравствуйте", "fa": "خوش آمدید"},
    "tap_to_rate": {
        "en": "Tap a face to rate your visit",
        "ru": "Коснитесь лица, чтобы оценить обслуживание",
        "fa": "برای امتیاز دادن، یکی از چهره‌ها را لمس کنید",
    },
    "wait_upto": {"en": "Waiting time: up to {n} min", "ru": "Ожидание: до {n} мин", "fa": "زمان انتظار: تا {n} دقیقه"},
    "wait_basis": {
        "en": "Based on recent waits",
        "ru": "По недавнему времени ожидания",
        "fa": "بر اساس زمان انتظار اخیر",
    },
    "rate_question": {
        "en": "How were you served today?",
        "ru": "Как вас обслужили сегодня?",
        "fa": "امروز از خدمات ما چقدر راضی بودید؟",
    },
    "rate_optional": {
        "en": "One tap, anonymous, optional",
        "ru": "Одно касание, анонимно, по желанию",
        "fa": "فقط یک لمس، بی‌نام و اختیاری",
    },
    "reason_question": {
        "en": "What stood out today? One tap, optional",
        "ru": "Что запомнилось сегодня? Одно касание, по желанию",
        "fa": "امروز چه چیزی به چشمتان آمد؟ یک لمس، اختیاری",
    },
    # One follow-up after every rating: a good and a bad side of the same three things (kiosk.wire.aggregate codes).
    "reason_quick": {"en": "Quick service", "ru": "Быстрое обслуживание", "fa": "خدمت سریع"},
    "reason_waiting": {"en": "Long wait", "ru": "Долгое ожидание", "fa": "انتظار طولانی"},
    "reason_friendly": {"en": "Friendly staff", "ru": "Вежливый сотрудник", "fa": "برخورد خوب"},
    "reason_attitude": {"en": "Unfriendly staff", "ru": "Невежливый сотрудник", "fa": "برخورد نامناسب"},
    "reason_helpful": {"en": "Got the help I needed", "ru": "Мне помогли", "fa": "کمکی که لازم داشتم"},
    "reason_competence": {"en": "Could not help me", "ru": "Не смогли помочь", "fa": "نتوانستند کمک کنند"},
    "call_manager": {"en": "Call a manager", "ru": "Позвать менеджера", "fa": "درخواست مدیر"},
    "manager_calling": {"en": "Calling a manager…", "ru": "Зовём менеджера…", "fa": "در حال خبر دادن به مدیر"},
    "manager_coming": {"en": "A manager is on the way", "ru": "Менеджер уже идёт", "fa": "مدیر در راه است"},
    "manager_ask": {
        "en": "Please ask at the counter",
        "ru": "Пожалуйста, обратитесь к сотруднику за стойкой",
        "fa": "لطفاً از کارمند پیشخوان بخواهید",
    },
    "skip": {"en": "No, thanks", "ru": "Нет, спасибо", "fa": "نه، ممنون"},
    "thanks": {"en": "Thank you!", "ru": "Спасибо!", "fa": "سپاسگزاریم!"},
    "thanks_sub": {
        "en": "Your answer helps us serve better.",
        "ru": "Ваш ответ помогает нам работать лучше.",
        "fa": "پاسخ شما به ما کمک می‌کند بهتر خدمت کنیم.",
    },
    # ---- camera mark and privacy notice (DESIGN §6; RUBRIC-SOURCES X9, X11, X23) ----------------------------
    "camera_mark": {
        "en": "Camera: service times only. No images kept.",
        "ru": "Камера: только время обслуживания. Изображения не хранятся.",
        "fa": "دوربین: فقط زمان خدمت. هیچ تصویری ذخیره نمی‌شود.",
    },
    "camera_off": {
        "en": "Camera off. Rating still works.",
        "ru": "Камера выключена. Оценка работает.",
        "fa": "دوربین خاموش است. امتیازدهی کار می‌کند.",
    },
    "notice_title": {"en": "About this terminal", "ru": "Об этом терминале", "fa": "درباره این دستگاه"},
    "notice_measured_title": {"en": "The camera measures", "ru": "Камера измеряет", "fa": "دوربین اندازه می‌گیرد"},
    "notice_measured": {  # one item a line; the notice screen draws the bullets (the Arabic font has none)
        "en": "how soon you were greeted\nhow long you waited\nhow much you and the staff faced each other\n"
              "the distance between you, in metres",
        "ru": "как скоро вас поприветствовали\nсколько вы ждали\nнасколько вы и сотрудник были обращены "
              "друг к другу\nрасстояние между вами в метрах",
        "fa": "چقدر زود به شما خوش‌آمد گفته شد\nچقدر منتظر ماندید\nچقدر شما و کارمند رو به هم بودید\n"
              "فاصله میان شما به متر",
    },
    "notice_numbers": {
        "en": "Only numbers are kept, and only hourly totals leave the store.",
        "ru": "Хранятся только числа; из магазина уходят только итоги по часам.",
        "fa": "فقط عدد نگه داشته می‌شود و فقط جمع ساعتی از فروشگاه خارج می‌شود.",
    },
    "notice_not_title": {"en": "It never", "ru": "Она никогда не", "fa": "این دستگاه هرگز"},
    "notice_not": {
        "en": "records or stores images\nrecognises faces or who you are\nlistens: no sound\n"
              "judges emotions, age, gender or looks\nscores a single staff member",
        "ru": "записывает и хранит изображения\nраспознаёт лица и личность\nслушает: звука нет\n"
              "оценивает эмоции, возраст, пол или внешность\nоценивает отдельного сотрудника",
        "fa": "تصویر ضبط یا ذخیره نمی‌کند\nچهره یا هویت شما را تشخیص نمی‌دهد\nصدا نمی‌شنود\n"
              "احساسات، سن، جنسیت یا ظاهر را نمی‌سنجد\nبه یک کارمند به تنهایی نمره نمی‌دهد",
    },
    "notice_rating": {
        "en": "Rating is optional and anonymous; staff do not see your answer.",
        "ru": "Оценка добровольная и анонимная; сотрудник не видит ваш ответ.",
        "fa": "امتیازدهی اختیاری و بی‌نام است؛ کارمند پاسخ شما را نمی‌بیند.",
    },
    "notice_operator": {"en": "Run by", "ru": "Оператор системы", "fa": "اداره‌کننده"},
    "notice_contact": {"en": "Contact", "ru": "Контакт", "fa": "تماس"},
    "notice_kept": {"en": "Kept", "ru": "Хранение", "fa": "نگهداری"},
    "notice_retention": {
        "en": "numbers stay on this terminal for {n} days, then are deleted",
        "ru": "числа хранятся на терминале {n} дней, затем удаляются",
        "fa": "اعداد {n} روز روی این دستگاه می‌مانند و سپس پاک می‌شوند",
    },
    "back": {"en": "Back", "ru": "Назад", "fa": "بازگشت"},
    # ---- staff (behind the PIN) --------------------------------------------------------------------------------
    "pin_title": {"en": "Staff PIN", "ru": "PIN сотрудника", "fa": "رمز کارکنان"},
    "pin_wrong": {"en": "Wrong PIN", "ru": "Неверный PIN", "fa": "رمز نادرست است"},
    "pin_locked": {
        "en": "Too many tries. Wait {n} s.",
        "ru": "Слишком много попыток. Подождите {n} с.",
        "fa": "تلاش بیش از حد. {n} ثانیه صبر کنید.",
    },
    "pin_unset": {
        "en": "No staff PIN is set (terminal.staff_pin_hash).",
        "ru": "PIN сотрудника не задан (terminal.staff_pin_hash).",
        "fa": "رمز کارکنان تنظیم نشده است.",
    },
    "pin_checking": {"en": "Checking…", "ru": "Проверка…", "fa": "در حال بررسی"},
    "staff_title": {"en": "Staff: terminal status", "ru": "Персонал: состояние терминала", "fa": "کارکنان: وضعیت دستگاه"},
    "st_camera": {"en": "Camera", "ru": "Камера", "fa": "دوربین"},
    "st_fps": {"en": "Frames per second", "ru": "Кадров в секунду", "fa": "فریم در ثانیه"},
    "st_sync": {"en": "Last sync", "ru": "Последняя отправка", "fa": "آخرین ارسال"},
    "st_outbox": {"en": "Batches waiting to send", "ru": "Пакетов ждут отправки", "fa": "بسته‌های در انتظار ارسال"},
    "st_disk": {"en": "Free disk", "ru": "Свободно на диске", "fa": "فضای آزاد دیسک"},
    "st_writes": {"en": "Rating write errors", "ru": "Ошибки записи оценок", "fa": "خطای ذخیره امتیاز"},
    "st_preview_note": {
        "en": "Live view: shown here only, never stored.",
        "ru": "Живое изображение: только на этом экране, не сохраняется.",
        "fa": "تصویر زنده فقط اینجا نمایش داده می‌شود و ذخیره نمی‌شود.",
    },
    "calibrate": {"en": "Draw zones", "ru": "Разметить зоны", "fa": "رسم محدوده‌ها"},
    "zone_staff": {"en": "Staff", "ru": "Персонал", "fa": "کارکنان"},
    "zone_service": {"en": "Service", "ru": "Обслуживание", "fa": "خدمت"},
    "zone_queue": {"en": "Queue", "ru": "Очередь", "fa": "صف"},
    "cal_close": {"en": "Close shape", "ru": "Замкнуть", "fa": "بستن شکل"},
    "cal_undo": {"en": "Undo", "ru": "Отменить", "fa": "واگرد"},
    "cal_clear": {"en": "Clear", "ru": "Очистить", "fa": "پاک کردن"},
    "cal_save": {"en": "Save zones", "ru": "Сохранить зоны", "fa": "ذخیره محدوده‌ها"},
    "cal_saved": {
        "en": "Zones saved. Restart to apply.",
        "ru": "Зоны сохранены. Перезапустите терминал.",
        "fa": "محدوده‌ها ذخیره شد. دستگاه را دوباره راه‌اندازی کنید.",
    },
    "cal_hint": {
        "en": "Pick a zone, tap its corners on the view, then close the shape.",
        "ru": "Выберите зону, коснитесь её углов на изображении и замкните.",
        "fa": "یک محدوده را انتخاب کنید، گوشه‌های آن را لمس کنید و شکل را ببندید.",
    },
    "close": {"en": "Close", "ru": "Закрыть", "fa": "بستن"},
    "never": {"en": "never", "ru": "ещё не было", "fa": "هنوز نه"},
    "status_starting": {"en": "starting", "ru": "запуск", "fa": "در حال آغاز"},
    "status_running": {"en": "working", "ru": "работает", "fa": "فعال"},
    "status_camera_error": {"en": "camera error", "ru": "ошибка камеры", "fa": "خطای دوربین"},
    "status_stopped": {"en": "stopped", "ru": "остановлена", "fa": "متوقف"},
    "advice_camera_error": {
        "en": "Check the camera cable and restart the terminal; if it stays, call support",
        "ru": "Проверьте кабель камеры и перезапустите терминал; если не помогло, позвоните в поддержку",
        "fa": "کابل دوربین را بررسی و دستگاه را دوباره روشن کنید؛ اگر ماند، با پشتیبانی تماس بگیرید",
    },
    "sync_off": {"en": "not set up on this terminal", "ru": "не настроена на этом терминале", "fa": "روی این دستگاه تنظیم نشده"},
    "sync_none": {"en": "not yet", "ru": "ещё не было", "fa": "هنوز نه"},
    "sync_ok": {
        "en": "done: {sent} sent, {pending} waiting",
        "ru": "выполнена: отправлено {sent}, ждут {pending}",
        "fa": "انجام شد: {sent} ارسال شد، {pending} در انتظار",
    },
    "sync_offline": {
        "en": "no connection to the server; data waits and is sent later",
        "ru": "нет связи с сервером; данные ждут и будут отправлены позже",
        "fa": "ارتباط با سرور برقرار نیست؛ داده‌ها بعداً ارسال می‌شوند",
    },
    "sync_refused": {
        "en": "the server refused this terminal; call support",
        "ru": "сервер не принял терминал; позвоните в поддержку",
        "fa": "سرور این دستگاه را نپذیرفت؛ با پشتیبانی تماس بگیرید",
    },
    "sync_failed": {
        "en": "sending failed; data waits and is sent later",
        "ru": "отправка не удалась; данные ждут и будут отправлены позже",
        "fa": "ارسال انجام نشد؛ داده‌ها بعداً ارسال می‌شوند",
    },
    "number": {"en": "{n}", "ru": "{n}", "fa": "{n}"},
    "disk_free": {
        "en": "{free} GB free of {total} GB",
        "ru": "свободно {free} ГБ из {total} ГБ",
        "fa": "{free} گیگابایت آزاد از {total} گیگابایت",
    },
}


class UnknownTextError(KeyError):
    """A catalogue key or language that does not exist."""


def text(key: str, lang: str, **fields: object) -> str:
    """The logical (unshaped) text of ``key`` in ``lang``, with ``fields`` filled in (numbers localised).

    >>> text("wait_upto", "fa", n=15)
    'زمان انتظار: تا ۱۵ دقیقه'
    """
    try:
        entry = CATALOGUE[key]
    except KeyError:
        raise UnknownTextError(f"no text {key!r} in the terminal catalogue") from None
    if lang not in entry:
        raise UnknownTextError(f"text {key!r} has no {lang!r} version (languages: {sorted(entry)})")
    values = {k: localise_number(v, lang) if isinstance(v, int | float) else v for k, v in fields.items()}
    return entry[lang].format(**values) if values else entry[lang]


def localise_number(value: float, lang: str) -> str:
    """``15`` -> ``'۱۵'`` in Persian, ``'15'`` otherwise."""
    s = f"{value:g}" if isinstance(value, float) else str(value)
    return s.translate(_FA_DIGITS) if lang == "fa" else s


def is_rtl(lang: str) -> bool:
    return lang in RTL


def is_arabic_script(text_: str) -> bool:
    """Whether ``text_`` holds Arabic-script letters (then it needs the Persian font and shaping)."""
    return any(0x0600 <= ord(c) <= 0x06FF or 0xFB50 <= ord(c) <= 0xFEFF for c in text_)


def shape_line(line: str) -> str:
    """One logical Persian line -> display form: contextual letter forms, visual (left-to-right) order.

    The zero-width non-joiner has done its work once the letters around it are shaped, and the font has no glyph
    for it, so it is dropped.
    """
    return get_display(arabic_reshaper.reshape(line), base_dir="R").replace(ZWNJ, "")


def display(text_: str, lang: str) -> str:
    """Text ready for Kivy's renderer: Persian shaped and reordered line by line; other languages unchanged."""
    if not is_rtl(lang):
        return text_
    return "\n".join(shape_line(line) for line in text_.split("\n"))


def wrap_rtl(text_: str, fits: Callable[[str], bool]) -> list[str]:
    """Break logical RTL text into logical lines that ``fits`` (measured on the shaped line) allows.

    Paragraph breaks (``\\n``) are kept; a word too long for a line stands alone on it. Lines come back in
    logical order, still unshaped: pass each through :func:`shape_line`.
    """
    lines: list[str] = []
    for paragraph in text_.split("\n"):
        current = ""
        for word in paragraph.split(" "):
            trial = f"{current} {word}" if current else word
            if current and not fits(trial):
                lines.append(current)
                current = word
            else:
                current = trial
        lines.append(current)
    return lines
