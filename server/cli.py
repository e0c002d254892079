"""The ``parley`` command: serve, migrate, seed, replay."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from server.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="parley", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server (migrates and seeds first)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--serving", choices=["local", "ray"], default=None)

    sub.add_parser("migrate", help="upgrade the database to the newest schema")
    sub.add_parser("seed", help="insert or update the built-in lessons")

    replay = sub.add_parser("replay", help="replay a recorded transcript against a lesson")
    replay.add_argument("file", type=Path, help="a transcript exported by the API")
    replay.add_argument("--lesson", required=True, help="ID or ID@VERSION (default: published)")
    replay.add_argument("--serving", choices=["local", "ray"], default="local",
                        help="where the matcher's models run (default: in this process)")

    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "serve":
        return _serve(settings, args)
    if args.command == "migrate":
        from server.db.migrate import upgrade

        upgrade(settings.database_url)
        print(f"database at head: {settings.database_url}")
        return 0
    if args.command == "seed":
        return asyncio.run(_seed(settings))
    settings = settings.model_copy(update={"serving": args.serving})
    return asyncio.run(_replay(settings, args.file, args.lesson))


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from server.app import create_app
    from server.observability import configure_logging

    updates = {k: v for k in ("host", "port", "serving") if (v := getattr(args, k)) is not None}
    settings = settings.model_copy(update=updates)
    configure_logging(settings.log_level)
    print(f"Parley starting on http://{settings.host}:{settings.port}/ "
          f"(serving: {settings.serving}, database: {settings.database_url})", flush=True)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None,
                ws_max_size=1024 * 1024, ws_ping_interval=20, ws_ping_timeout=20,
                # permessage-deflate keeps ~64 KB of zlib state per socket and saves
                # little on short JSON and PCM audio; idle learners cost far less without.
                ws_per_message_deflate=False, timeout_graceful_shutdown=5)
    return 0


async def _seed(settings: Settings) -> int:
    from server.services import build_services

    services = await build_services(settings.model_copy(update={"seed_builtin": False}))
    try:
        changed = await services.lessons.seed_builtin()
    finally:
        await services.close()
    print(f"built-in lessons updated: {changed or 'none (already current)'}")
    return 0


async def _replay(settings: Settings, file: Path, lesson: str) -> int:
    from dialog.replay import replay
    from server.services import build_services

    lesson_id, _, version_text = lesson.partition("@")
    turns = _load_turns(file)
    services = await build_services(settings)
    try:
        version = await _resolve_version(services, lesson_id, version_text)
        compiled = await services.lessons.compiled(lesson_id, version)
        diffs = await replay(services.play.engine, compiled, turns)
    finally:
        await services.close()
    for d in diffs:
        print(json.dumps({"turn": d.turn, "text": d.text, "reason": d.reason,
                          "recorded": d.recorded, "replayed": d.replayed}))
    print(json.dumps({"lesson": lesson_id, "version": version, "turns": len(turns),
                      "changed": len(diffs)}))
    return 1 if diffs else 0


def _load_turns(file: Path) -> list[dict]:
    data = json.loads(file.read_text())
    return data["turns"] if isinstance(data, dict) else data


async def _resolve_version(services, lesson_id: str, version_text: str) -> int:
    from server.auth import ANONYMOUS

    if version_text:
        return int(version_text)
    summaries = {s.id: s for s in await services.lessons.list(ANONYMOUS)}
    if lesson_id not in summaries or summaries[lesson_id].published_version is None:
        raise SystemExit(f"lesson {lesson_id!r} has no published version; use ID@VERSION")
    return summaries[lesson_id].published_version


if __name__ == "__main__":
    sys.exit(main())
