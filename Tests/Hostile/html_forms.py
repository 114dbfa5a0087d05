"""Reads what a page offers: its forms (action, method, every named control with the value the
page gives it, its options and limits) and its links. html.parser only."""

import html.parser
import re
import urllib.parse


class Field:
    def __init__(self, name, kind, value="", attrs=None):
        self.name, self.kind, self.value = name, kind, value
        self.attrs = attrs or {}
        self.options = []       # for selects: every option value, in order
        self.checked = True     # for checkboxes and radios: whether the page checks it

    def __repr__(self):
        return f"<{self.kind} {self.name}={self.value!r}>"


class Form:
    def __init__(self, page, action, method, attrs):
        self.page = page                      # the page (path?query) the form was found on
        self.action = action                  # as written, resolved against the page
        parts = urllib.parse.urlsplit(action)
        self.path = parts.path
        self.query = parts.query
        self.method = method
        self.attrs = attrs
        self.fields = []                      # every named control, in page order
        self.buttons = []                     # (name, value) of named submit buttons

    def defaults(self):
        """What submitting the form unchanged sends: (name, value) pairs in page order (checked
        checkboxes and radios only, the selected or first option of each select)."""
        out = []
        for f in self.fields:
            if f.kind in ("checkbox", "radio") and not f.checked:
                continue
            out.append((f.name, f.value))
        return out

    def field_names(self):
        names = []
        for f in self.fields:
            if f.name not in names:
                names.append(f.name)
        return names

    def multi_valued(self, name):
        """Whether the form itself can send `name` more than once (checkbox groups, select multiple)."""
        controls = [f for f in self.fields if f.name == name]
        if any(f.kind == "select" and "multiple" in f.attrs for f in controls):
            return True
        return len(controls) > 1 and all(f.kind == "checkbox" for f in controls)

    def field(self, name):
        for f in self.fields:
            if f.name == name:
                return f
        return None

    def __repr__(self):
        return f"<form {self.method} {self.action} from {self.page}: {[f.name for f in self.fields]}>"


class _Parser(html.parser.HTMLParser):
    def __init__(self, page):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.forms, self.links = [], []
        self._by_id = {}
        self._pending = []   # controls with a form="id" attribute met before their form
        self._form = None
        self._select = None
        self._select_has_selected = False
        self._textarea = None
        self._option = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(urllib.parse.urljoin(self.page, a["href"]))
        if tag == "form":
            action = urllib.parse.urljoin(self.page, a.get("action") or self.page)
            self._form = Form(self.page, action, (a.get("method") or "get").upper(), a)
            self.forms.append(self._form)
            if a.get("id"):
                self._by_id[a["id"]] = self._form
            return
        form = self._form
        if a.get("form"):
            # A control may belong to a form elsewhere on the page (form="compare-form").
            form = self._by_id.get(a["form"])
            if form is None:
                if tag == "input" and a.get("name"):
                    self._pending.append(a)
                return
        if form is None:
            return
        name = a.get("name")
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "image", "button", "reset"):
                if name:
                    form.buttons.append((name, a.get("value", "")))
                return
            if not name or "disabled" in a:
                return
            value = a.get("value", "on" if kind in ("checkbox", "radio") else "")
            field = Field(name, kind, value, a)
            if kind in ("checkbox", "radio"):
                field.checked = "checked" in a
            form.fields.append(field)
        elif tag == "button":
            if name:
                form.buttons.append((name, a.get("value", "")))
        elif tag == "select" and name and "disabled" not in a:
            self._select = Field(name, "select", None, a)
            self._select_has_selected = False
            form.fields.append(self._select)
        elif tag == "option" and self._select is not None:
            self._option = {"value": a.get("value"), "text": "", "selected": "selected" in a}
        elif tag == "textarea" and name and "disabled" not in a:
            self._textarea = Field(name, "textarea", "", a)
            form.fields.append(self._textarea)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.value += data
        if self._option is not None:
            self._option["text"] += data

    def _close_option(self):
        option, self._option = self._option, None
        if option is None or self._select is None:
            return
        value = option["value"] if option["value"] is not None else option["text"].strip()
        self._select.options.append(value)
        if option["selected"] and not self._select_has_selected:
            self._select.value = value
            self._select_has_selected = True

    def handle_endtag(self, tag):
        if tag == "option":
            self._close_option()
        elif tag == "select" and self._select is not None:
            self._close_option()
            if self._select.value is None:
                self._select.value = self._select.options[0] if self._select.options else ""
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # A textarea's first newline after the tag is not part of its value.
            if self._textarea.value.startswith("\n"):
                self._textarea.value = self._textarea.value[1:]
            self._textarea = None
        elif tag == "form":
            self._form = None


def parse(page_html, page_url):
    """(forms, links) of a page; `page_url` is its path?query, links are resolved against it."""
    parser = _Parser(page_url)
    parser.feed(page_html)
    parser.close()
    for a in parser._pending:
        form = parser._by_id.get(a["form"])
        kind = (a.get("type") or "text").lower()
        if form is None or kind in ("submit", "image", "button", "reset"):
            continue
        field = Field(a["name"], kind, a.get("value", "on" if kind in ("checkbox", "radio") else ""), a)
        if kind in ("checkbox", "radio"):
            field.checked = "checked" in a
        form.fields.append(field)
    return parser.forms, parser.links


def parse_forms(page_html, page_url):
    return parse(page_html, page_url)[0]


_NUMERIC = re.compile(r"^\d+$")


def path_pattern(path):
    """A path with its ids replaced: /deployments/12/scale -> /deployments/{id}/scale,
    /models/lfm2-350m/edit -> /models/{slug}/edit, /docs/tracking -> /docs/{slug}."""
    segments = path.split("/")
    out = []
    for i, seg in enumerate(segments):
        if i == 4 and segments[1] == "deployments" and segments[3] == "guardrails" and _NUMERIC.match(seg):
            out.append("{rule}")
        elif _NUMERIC.match(seg):
            out.append("{id}")
        elif i == 2 and segments[1] in ("models", "docs") and seg not in ("", "new"):
            out.append("{slug}")
        else:
            out.append(seg)
    return "/".join(out)
