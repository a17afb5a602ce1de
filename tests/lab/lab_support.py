"""A runbook open in JupyterLab, operated through the page as a person would (menus, the editor, the
keyboard), and the colour arithmetic of the readability check (WCAG contrast)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook_lib.runner import Runbook

PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
#: seconds a step in the browser may take (a kernel start, a whole runbook on a busy CI machine)
PATIENCE = 180

_NUMBERS = re.compile(r"[-+]?\d*\.?\d+(?:e[-+]?\d+)?")

#: every element of the outputs that sets a colour, with its colour, border and the backgrounds behind it
_STYLED = """
const found = [];
for (const el of arguments[0].querySelectorAll('.jp-OutputArea-output [style*="color"]')) {
  const text = el.textContent.trim();
  if (!text) continue;
  const style = getComputedStyle(el);
  const backgrounds = [];
  for (let n = el; n; n = n.parentElement) backgrounds.push(getComputedStyle(n).backgroundColor);
  found.push({text: text.slice(0, 80), color: style.color, border: style.borderLeftColor,
              borderWidth: parseFloat(style.borderLeftWidth) || 0, backgrounds});
}
return found;
"""


def parse_color(css: str) -> tuple[float, float, float, float]:
    """``rgb()``, ``rgba()`` or ``color(srgb …)`` (what Chromium computes for ``color-mix``) as 0..1."""
    values = [float(v) for v in _NUMBERS.findall(css.split("(", 1)[1])]
    if css.startswith("color("):
        r, g, b = values[:3]
        return r, g, b, values[3] if len(values) > 3 else 1.0
    r, g, b = (v / 255 for v in values[:3])
    return r, g, b, values[3] if len(values) > 3 else 1.0


def over(
    top: tuple[float, float, float, float], below: tuple[float, float, float]
) -> tuple[float, float, float]:
    alpha = top[3]
    return tuple(alpha * t + (1 - alpha) * b for t, b in zip(top[:3], below, strict=True))  # type: ignore[return-value]


def luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@dataclass(frozen=True)
class Styled:
    """A coloured element of the outputs as the page shows it: text, colours over the real background."""

    text: str
    color: tuple[float, float, float]
    background: tuple[float, float, float]
    border: tuple[float, float, float] | None = None

    @classmethod
    def from_page(cls, raw: dict[str, Any]) -> Styled:
        behind: tuple[float, float, float] = (1.0, 1.0, 1.0)
        for css in reversed(raw["backgrounds"]):  # from the page down to the element
            behind = over(parse_color(css), behind)
        border = over(parse_color(raw["border"]), behind) if raw["borderWidth"] >= 2 else None
        return cls(raw["text"], over(parse_color(raw["color"]), behind), behind, border)

    @property
    def text_contrast(self) -> float:
        return contrast(self.color, self.background)


@dataclass
class LabNotebook:
    """One runbook open in JupyterLab."""

    driver: Any
    source: Path
    runbook: Runbook = field(init=False)

    def __post_init__(self) -> None:
        self.runbook = Runbook.load(self.source)

    # --- waiting and finding ---------------------------------------------------------------------

    def wait(self, condition: Any, timeout: float = PATIENCE) -> Any:
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        def attempt(driver: Any) -> Any:
            try:
                return condition(driver)
            except WebDriverException:
                return False

        return WebDriverWait(self.driver, timeout, poll_frequency=0.2).until(attempt)

    def panel(self) -> Any:
        return self.driver.find_element("css selector", PANEL)

    def all(self, css: str) -> list[Any]:
        return list(self.panel().find_elements("css selector", css))

    def prompts(self) -> list[str]:
        return [p.text.strip() for p in self.all(".jp-CodeCell .jp-InputArea-prompt")]

    def status_bar(self) -> str:
        return str(self.driver.find_element("css selector", "#jp-main-statusbar").text)

    # --- what a person does ----------------------------------------------------------------------

    def open(self, url: str) -> None:
        self.driver.get(url)
        self.wait(lambda d: self.all(".jp-CodeCell .cm-content"))
        self.wait(lambda d: "Idle" in self.status_bar())  # the kernel has started

    def set_parameter(self, name: str, value: str) -> None:
        """Click into the parameters cell and retype the line of one parameter with a new value."""
        from selenium.webdriver.common.keys import Keys

        cell = self.runbook.parameters_cell
        declared = self.runbook.parameter(name)
        assert cell is not None and declared is not None
        line = cell.source.splitlines().index(
            next(ln for ln in cell.source.splitlines() if ln.startswith(name))
        )
        code_cells = [c for c in self.runbook.cells if c.type == "code"]
        editor = self.all(".jp-CodeCell .cm-content")[code_cells.index(cell)]

        def click(driver: Any) -> bool:
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", editor)
            editor.click()
            return True

        self.wait(click)
        editor.send_keys(Keys.CONTROL, Keys.HOME)
        for _ in range(line):
            editor.send_keys(Keys.DOWN)
        editor.send_keys(Keys.HOME)
        editor.send_keys(Keys.SHIFT, Keys.END)
        editor.send_keys(f"{name}: {declared.type} = {value}  # {declared.help}")
        typed = editor.text.splitlines()[line]
        assert typed.startswith(f"{name}: {declared.type} = {value}"), typed

    def menu(self, top: str, *path: str) -> None:
        """Click a menu of the menu bar, then the items along ``path`` (submenus open on click)."""
        self.wait(lambda d: self._click_label(".lm-MenuBar-item", top))
        for item in path:
            self.wait(lambda d, item=item: self._click_label(".lm-Menu-item", item))

    def _click_label(self, css: str, label: str) -> bool:
        for element in self.driver.find_elements("css selector", css):
            if element.text.strip() == label and element.is_displayed():
                element.click()
                return True
        return False

    def run_all(self) -> list[str]:
        """Run → Run All Cells, then wait until the kernel is done; the cells' prompts."""
        self.menu("Run", "Run All Cells")

        def finished(driver: Any) -> list[str] | bool:
            prompts = self.prompts()
            started = bool(prompts) and prompts[0] not in ("[ ]:", "[*]:")
            return prompts if started and "[*]:" not in prompts and "Idle" in self.status_bar() else False

        return list(self.wait(finished))

    def theme(self, name: str) -> None:
        """Settings → Theme → ``name`` (a person's way to switch JupyterLab to dark)."""
        light = name != "JupyterLab Dark"
        body = self.driver.find_element("css selector", "body")
        if (body.get_attribute("data-jp-theme-light") == "true") != light:
            self.menu("Settings", "Theme", name)
        self.wait(lambda d: body.get_attribute("data-jp-theme-light") == ("true" if light else "false"))
        self.wait(lambda d: self.driver.execute_script("return document.fonts.status") == "loaded")

    # --- what the page shows ---------------------------------------------------------------------

    def styled(self) -> list[Styled]:
        return [Styled.from_page(raw) for raw in self.driver.execute_script(_STYLED, self.panel())]

    def error_outputs(self) -> list[str]:
        return [
            e.text for e in self.all('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
        ]

    def screenshot(self, path: Path, element: Any | None = None, *, where: str = "start") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if element is not None:
            self.driver.execute_script(f"arguments[0].scrollIntoView({{block: '{where}'}})", element)
        self.driver.save_screenshot(str(path))
