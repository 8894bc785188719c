"""A small reader of rendered pages, on the standard library's HTML parser: elements with
their attributes, their text, their parent."""

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


@dataclass(eq=False)
class Element:
    tag: str
    attrs: dict
    parent: "Element | None"
    text: str = ""
    children: list = field(default_factory=list)

    @property
    def value(self) -> str:
        """What a browser shows in a textarea: its text but for one leading newline."""
        return self.text[1:] if self.text.startswith("\n") else self.text

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def find_all(self, tag: str | None = None, **attrs) -> list["Element"]:
        found = []
        for child in self.children:
            if (tag is None or child.tag == tag) and all(
                child.attrs.get(name.replace("_", "-")) == value for name, value in attrs.items()
            ):
                found.append(child)
            found.extend(child.find_all(tag, **attrs))
        return found


class Page(HTMLParser):
    def __init__(self, html: str):
        super().__init__()
        self.root = Element("document", {}, None)
        self.stack = [self.root]
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {name: value or "" for name, value in attrs}, self.stack[-1])
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data):
        for element in self.stack[1:]:
            element.text += data

    def find_all(self, tag: str | None = None, **attrs) -> list[Element]:
        return self.root.find_all(tag, **attrs)

    def ids(self) -> set[str]:
        return {element.attrs["id"] for element in self.find_all() if element.attrs.get("id")}

    def by_id(self, id_: str) -> Element:
        found = [element for element in self.find_all() if element.attrs.get("id") == id_]
        assert found, f"no element #{id_}"
        return found[0]


def describing(page: Page, widget: Element) -> list[Element]:
    """The elements a widget's aria-describedby points at; each must exist."""
    ids = widget.attrs.get("aria-describedby", "").split()
    present = page.ids()
    assert all(i in present for i in ids), (ids, "missing from the page")
    return [page.by_id(i) for i in ids]


def error_of(page: Page, field_id: str) -> str:
    """The error message of a field, as a screen reader reaches it from the widget."""
    widget = page.by_id(field_id)
    messages = [e for e in describing(page, widget) if e.attrs["id"] == f"{field_id}-desc-error"]
    assert messages, f"#{field_id} is not described by its error message"
    assert "fr-error-text" in messages[0].classes
    return messages[0].text.strip()


def summary_targets(page: Page) -> list[str]:
    """The field ids the error summary links to; the summary takes the focus."""
    summaries = page.find_all(data_error_summary="")
    assert summaries, "no error summary"
    summary = summaries[0]
    assert summary.attrs.get("tabindex") == "-1" and summary.attrs.get("id")
    links = [a.attrs["href"] for a in summary.find_all("a")]
    assert all(link.startswith("#") for link in links)
    present = page.ids()
    targets = [link[1:] for link in links]
    assert all(t in present for t in targets), (targets, "link to fields that do not exist")
    return targets
