"""Messages rendered from Jinja2 templates: per kind a subject, a text body and an HTML body, in the
recipient's language (gettext catalogs under `locales/`, Babel-style; English is shipped) and with
dates in their timezone. A folder given in settings overrides any shipped template by name."""

import threading
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.support import Translations
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

SHIPPED = Path(__file__).parent / "templates"
LOCALES = Path(__file__).parent / "locales"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _locale(language: str) -> Locale:
    try:
        return Locale.parse(language.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return Locale.parse("en")


class Templates:
    def __init__(self, override_dir: str = "") -> None:
        self._override = override_dir
        self._dirs = [d for d in (override_dir, str(SHIPPED)) if d]
        self._envs: dict[str, Environment] = {}
        self._lock = threading.Lock()

    def _env(self, locale: Locale, timezone: str) -> Environment:
        key = f"{locale}|{timezone}"
        with self._lock:
            env = self._envs.get(key)
            if env is None:
                env = Environment(loader=ChoiceLoader([FileSystemLoader(d) for d in self._dirs]),
                                  extensions=["jinja2.ext.i18n"], undefined=StrictUndefined,
                                  autoescape=select_autoescape(["html"]), keep_trailing_newline=True)
                translations = Translations.load(str(LOCALES), [locale])  # NullTranslations if none
                if self._override:  # a team's catalogs (<folder>/locales/<lang>/LC_MESSAGES/messages.mo) first
                    theirs = Translations.load(str(Path(self._override) / "locales"), [locale])
                    if isinstance(theirs, Translations):
                        theirs.add_fallback(translations)
                        translations = theirs
                env.install_gettext_translations(translations, newstyle=True)
                zone = ZoneInfo(timezone)
                env.filters["day"] = lambda d: format_date(d, "EEEE d MMMM", locale=locale) if d else ""
                env.filters["when"] = lambda t: (format_datetime(t.astimezone(zone), "EEEE d MMMM, HH:mm",
                                                                 locale=locale) if t else "")
                env.filters["time"] = lambda t: format_datetime(t.astimezone(zone), "HH:mm", locale=locale)
                self._envs[key] = env
        return env

    def render(self, kind: str, context: dict, *, language: str = "en", timezone: str = "UTC") -> Rendered:
        env = self._env(_locale(language), timezone)
        subject = env.get_template(f"{kind}/subject.txt").render(context).strip()
        text = _paragraphs(env.get_template(f"{kind}/body.txt").render(context))
        html = env.get_template(f"{kind}/body.html").render(context)
        return Rendered(subject=" ".join(subject.split()), text=text, html=html)


def _paragraphs(text: str) -> str:
    """Lines trimmed, and one blank line between paragraphs (however the template's tags fell)."""
    lines = [line.strip() for line in text.strip().splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip() + "\n"


def local_day(at: datetime, timezone: str) -> date:
    return at.astimezone(ZoneInfo(timezone)).date()
