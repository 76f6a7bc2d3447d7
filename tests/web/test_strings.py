"""The pages' one string table: both languages complete, every key the pages use is there."""

from __future__ import annotations

import json
import re
from pathlib import Path

import alerting

STATIC = Path(alerting.__file__).resolve().parent / "web" / "static"
STRINGS = json.loads((STATIC / "strings.json").read_text(encoding="utf-8"))

# Keys the scripts build from API values (`status_${alert.status}` ...): the contract's values.
DYNAMIC_FAMILIES = {
    "status_": ["new", "acknowledged", "confirmed", "dismissed", "other_smoke", "out"],
    "reason_": ["cloud", "fog_haze", "dust", "burning", "sun_glare", "lens", "other"],
    "notify_": ["on", "off", "blocked"],
    "ranger_status_": ["new", "acknowledged", "confirmed"],
    "cam_": ["online", "offline", "stale", "frozen", "error", "unknown"],
    "role_": ["ranger", "operator", "admin", "worker"],
    "label_": ["smoke", "fire"],
    "conn_": ["connecting", "live", "polling", "offline"],
    "dir_": [str(i) for i in range(8)],
    "mode_": ["day", "night_ir", "low_light"],  # issue 12: cameras' frame_mode
    "mode_hint_": ["day", "night_ir", "low_light"],
    "danger_name_": ["1", "2", "3", "4", "5"],  # issue 12: fire-danger levels
    "danger_src_": ["camera", "district", "default"],
}


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


def _sources() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in sorted(STATIC.glob("*")) if path.suffix in {".js", ".html"})


def test_both_languages_have_the_same_keys_and_placeholders():
    assert set(STRINGS) == {"en", "vi"}
    assert set(STRINGS["en"]) == set(STRINGS["vi"])
    for key, english in STRINGS["en"].items():
        vietnamese = STRINGS["vi"][key]
        assert english.strip() and vietnamese.strip(), key
        assert _placeholders(english) == _placeholders(vietnamese), key


def test_vietnamese_is_written_with_its_diacritics():
    vi = STRINGS["vi"]
    assert vi["label_smoke"] == "Khói"
    assert vi["label_fire"] == "Cháy"
    assert vi["btn_confirm"].startswith("Xác nhận")
    assert vi["btn_dismiss"].startswith("Bỏ qua")
    # Not ASCII transliterations: every Vietnamese string that differs from the English one
    # carries a diacritic, save the few words that have none.
    words_without_diacritics = {"dir_4", "alerts_count", "danger_name_3"}  # "Nam" (south), "{shown} / {total}", "cao" (high)
    ascii_only = {key for key, text in vi.items() if text.isascii() and text != STRINGS["en"][key]}
    assert ascii_only == words_without_diacritics


def test_every_key_the_pages_use_exists_and_every_string_is_used():
    sources = _sources()
    used = set(re.findall(r"""\bt\(\s*"(\w+)\"""", sources))
    used |= set(re.findall(r"""data-i18n(?:-[\w-]+)?="(\w+)\"""", sources))
    used |= set(re.findall(r"""label: "(\w+)\"""", sources))
    used |= {key for pair in re.findall(r"""\?\s*"(\w+)"\s*:\s*"(\w+)\"""", sources) for key in pair}  # t(a ? "x" : "y")
    for prefix, values in DYNAMIC_FAMILIES.items():
        assert f"`{prefix}${{" in sources, f"no key is built from {prefix!r}"
        used |= {prefix + value for value in values}
    missing = used - set(STRINGS["en"])
    assert missing == set()
    unused = {key for key in STRINGS["en"] if key not in used and f'"{key}"' not in sources}
    assert unused == set()
