"""Keep the built documentation readable offline: no script or stylesheet from a remote host.

Two parts:

- a Sphinx extension (``setup``) that removes the remote jQuery/DataTables block sphinx-gallery
  writes into its execution-times pages (``sg_execution_times.rst``): the table stays, as a
  plain sortable-by-eye table, and no page asks a CDN for code;
- a checker, :func:`remote_assets` / :func:`main`, that lists every ``<script src>``,
  stylesheet or preload ``<link href>`` and CSS ``@import``/``url()`` pointing at
  ``http://``, ``https://`` or ``//`` in a built HTML tree. CI runs
  ``python docs/_ext/offline_html.py docs/_build/html`` after the build and fails on any hit.
"""

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

_REMOTE = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
_CSS_REMOTE = re.compile(r"""(@import\s+(url\()?|url\()\s*['"]?\s*((https?:)?//[^'")\s]+)""",
                         re.IGNORECASE)
_LOADING_RELS = {"stylesheet", "preload", "modulepreload", "prefetch"}
# the raw-HTML block sphinx-gallery puts before its table (up to the blank line after </script>)
_GALLERY_BLOCK = re.compile(r"\n  \.\. raw:: html\n\n(    .*\n|\n)*?    </script>\n", re.M)


class _AssetParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attrs = {k: (v or "") for k, v in attrs}
        if tag == "script" and _REMOTE.match(attrs.get("src", "")):
            self.found.append(f"<script src={attrs['src']}>")
        elif tag == "link":
            rels = set(attrs.get("rel", "").lower().split())
            if rels & _LOADING_RELS and _REMOTE.match(attrs.get("href", "")):
                self.found.append(f"<link rel={attrs['rel']} href={attrs['href']}>")
        elif tag == "style":
            self._in_style = True

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.found.extend(f"CSS {m.group(3)}" for m in _CSS_REMOTE.finditer(data))


def remote_assets(html):
    """Remote scripts, stylesheets and CSS imports referenced by one HTML document.

    Parameters
    ----------
    html : str
        The page's text.

    Returns
    -------
    list of str
        One short description per remote asset (empty when the page loads nothing remote).
    """
    parser = _AssetParser()
    parser.feed(html)
    parser.close()
    return parser.found


def scan(build_dir):
    """``{relative path: [remote assets]}`` over the ``.html`` and ``.css`` files of a build."""
    root = Path(build_dir)
    out = {}
    for path in sorted(root.rglob("*")):
        if path.suffix == ".html":
            found = remote_assets(path.read_text(encoding="utf-8", errors="replace"))
        elif path.suffix == ".css":
            text = path.read_text(encoding="utf-8", errors="replace")
            found = [f"CSS {m.group(3)}" for m in _CSS_REMOTE.finditer(text)]
        else:
            continue
        if found:
            out[str(path.relative_to(root))] = found
    return out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print("usage: python docs/_ext/offline_html.py BUILD_DIR", file=sys.stderr)
        return 2
    root = Path(argv[0])
    pages = list(root.rglob("*.html"))
    if not pages:
        print(f"no HTML page under {root}", file=sys.stderr)
        return 2
    bad = scan(root)
    for path, found in bad.items():
        for item in found:
            print(f"{path}: remote asset {item}")
    if bad:
        print(f"{len(bad)} file(s) load scripts or styles from a remote host", file=sys.stderr)
        return 1
    print(f"offline check: {len(pages)} HTML pages load no remote script or stylesheet")
    return 0


def _strip_gallery_block(app, docname, source):
    if docname.endswith("sg_execution_times"):
        source[0] = _GALLERY_BLOCK.sub("\n", source[0], count=1)


def setup(app):
    app.connect("source-read", _strip_gallery_block)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    sys.exit(main())
