"""What the ipywidgets view ships to the browser besides its models: its CSS and the Copy button."""

from __future__ import annotations

import html

__all__ = ["CSS", "copy_html"]

CSS = """<style>
.cs-view { max-width: 100%; }
.cs-view .widget-html-content { line-height: 1.5; }
.cs-view .cs-mono { font-family: var(--jp-code-font-family, monospace) !important;
  font-size: var(--jp-code-font-size, 13px) !important; }
.cs-view .cs-row { text-align: left !important; white-space: pre !important; padding: 0 4px !important;
  margin: 0 !important; height: 22px !important; line-height: 22px !important; width: auto !important;
  min-width: 0 !important; overflow: hidden; text-overflow: ellipsis; border: none !important;
  box-shadow: none !important; }
.cs-view .cs-row:hover { filter: brightness(0.95); }
.cs-view .cs-head { white-space: pre !important; padding: 0 !important; margin: 0 !important;
  text-align: left !important; font-weight: bold !important; height: 24px !important; border: none !important;
  box-shadow: none !important; background: transparent !important; }
.cs-view .cs-headers { padding-left: 4px; border-bottom: 1px solid var(--jp-border-color1, #ccc); }
.cs-view .cs-dim { color: var(--jp-ui-font-color2, #666); }
.cs-view .cs-notices { margin: 2px 0; padding-left: 20px; color: var(--jp-ui-font-color2, #666); }
.cs-view .cs-tag { font-size: 85%; background: #eaeef2; color: #57606a; border-radius: 4px; padding: 0 4px; }
.cs-view .cs-tests-table td, .cs-view .cs-tests-table th { text-align: left; vertical-align: top;
  padding: 2px 8px 2px 0; }
.cs-view .cs-code pre, .cs-view .cs-diff { padding: 6px 8px; margin: 0; overflow-x: auto;
  font-family: var(--jp-code-font-family, monospace); font-size: var(--jp-code-font-size, 13px); }
.cs-view .cs-diff { background: #f6f8fa; color: #1f2328; }
.cs-view .cs-copy-text { position: absolute; left: -9999px; width: 1px; height: 1px; }
.cs-view .cs-copy-text.cs-shown { position: static; width: 40em; height: 8em; left: auto; }
.cs-view .cs-hidden { display: none !important; }
.cs-view .cs-disagreements:not(.cs-hidden) { display: grid !important; align-items: center;
  grid-template-columns: minmax(0, max-content) minmax(0, max-content) max-content 1fr;
  column-gap: 12px; row-gap: 2px; margin: 6px 0; padding: 4px 8px; border-left: 3px solid #bf8700;
  background: var(--jp-layout-color2, #f6f8fa); }
.cs-view .cs-dis-head, .cs-view .cs-dis-status { grid-column: 1 / -1; contain: inline-size; }
.cs-view .cs-dis-row { display: contents !important; }
.cs-view .cs-dis-row.cs-hidden { display: none !important; }
.cs-view .cs-dis-call-box { grid-column: 1; margin-top: 4px !important; }
.cs-view .cs-dis-out-box { grid-column: 2; overflow-wrap: anywhere; }
.cs-view .cs-dis-add { grid-column: 3; width: auto !important; height: 22px !important;
  line-height: 22px !important; padding: 0 8px !important; margin: 0 !important; }
.cs-view .cs-dis-add:not(.mod-success) { background: var(--jp-layout-color1, #fff);
  border: 1px solid var(--jp-border-color1, #bbb); }
.cs-view .cs-rank-reason { margin-top: 2px; }
</style>"""

# Copying needs the browser's clipboard, which only page JavaScript can reach. The HTML widget
# renders its value as HTML, so an inline handler does it with no frontend extension; where
# the clipboard API is not allowed (plain http), the text is selected for Ctrl+C instead.
_COPY_JS = (
    "(function(b){var t=b.parentNode.querySelector('textarea');"
    "var say=function(m){b.textContent=m;setTimeout(function(){b.textContent='Copy'},2000)};"
    "var manual=function(){t.classList.add('cs-shown');t.focus();t.select();"
    "try{if(document.execCommand('copy')){t.classList.remove('cs-shown');say('Copied');return}}catch(e){}"
    "say('Press Ctrl+C')};"
    "if(navigator.clipboard&&window.isSecureContext){navigator.clipboard.writeText(t.value)"
    ".then(function(){say('Copied')},manual)}else{manual()}})(this)"
)


def copy_html(code: str | None) -> str:
    if code is None:
        return ""
    return (
        '<span class="cs-copy-wrap">'
        f'<button class="jupyter-button widget-button cs-copy" onclick="{html.escape(_COPY_JS)}" '
        'title="Copy the code to the clipboard">Copy</button>'
        f'<textarea class="cs-copy-text" readonly>{html.escape(code)}</textarea></span>'
    )
