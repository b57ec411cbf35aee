"""The `kiosk` command. Only this module turns errors into messages and exit codes."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Callable

from kiosk.config import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
EXIT_USAGE, EXIT_BAD_INPUT = 2, 3


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def cmd_simulate(args: argparse.Namespace) -> int:
    """Run a scripted scene through the measuring core; JSON with the truth beside the measures, plus a table."""
    from kiosk.report import comparison_table, interaction_json, summary
    from kiosk.simulate import load_scene, match, run_scene

    settings = _settings(args)
    scene = load_scene(args.scene)
    result = run_scene(scene, settings)
    doc = {
        "video": f"simulated:{scene.name}",
        "frames": result.frames,
        "duration_s": scene.duration_s,
        "fps_processed": scene.fps,
        "interactions": [interaction_json(x) for x in result.interactions],
        "truth": [interaction_json(x) for x in result.truth],
        "summary": summary(result.interactions),
    }
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    print(f"\n{scene.name}: {scene.description}", file=sys.stderr)
    print(comparison_table(match(result.interactions, result.truth)), file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """The main job on embedded defaults: every shipped scene measured and scored against the store's rubric."""
    from kiosk.report import interactions_table
    from kiosk.rubrics import load_rubric, overall_score, score_interaction
    from kiosk.simulate import load_scene, run_scene

    settings = _settings(args)
    rubric = load_rubric(ROOT / settings.store.rubric if not settings.store.rubric.is_absolute() else settings.store.rubric)
    scenes = sorted((ROOT / "scenes").glob("*.toml"))
    print(f"Rubric: {rubric.name} (v{rubric.version}); {len(scenes)} scripted counter scenes\n")
    total = []
    for i, path in enumerate(scenes, 1):
        scene = load_scene(path)
        result = run_scene(scene, settings)
        scored = [x.with_scores(score_interaction(rubric, x)) for x in result.interactions]
        total += scored
        print(f"[{i}/{len(scenes)}] {scene.name} - {scene.description}")
        print(interactions_table(scored, lambda x: overall_score(rubric, x.rubric_scores)))
        print()
    scores = [s for s in (overall_score(rubric, x.rubric_scores) for x in total) if s is not None]
    print(f"{len(total)} interactions, {sum(x.greeted for x in total)} greeted, "
          f"{sum(x.abandoned for x in total)} abandoned; mean rubric score {sum(scores) / max(len(scores), 1):.2f}")
    return 0


COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
    "simulate": (cmd_simulate, "simulate a scripted scene (SCENE.toml) and measure it"),
    "demo": (cmd_demo, "measure and score every shipped scene"),
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kiosk", description="Service-quality terminal for shops and branches.")
    p.add_argument("--config", type=Path, default=None, help="settings TOML (KIOSK_* variables override it)")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)
    for name, (_, help_text) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_text)
        if name == "simulate":
            sp.add_argument("scene", type=Path)
            sp.add_argument("--out", type=Path, default=None, help="write the JSON here instead of stdout")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    func = COMMANDS[args.command][0]
    try:
        return func(args)
    except (ConfigError, ValueError, OSError) as exc:
        print(f"kiosk {args.command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    raise SystemExit(main())
