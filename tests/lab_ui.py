"""What the browser tests do in JupyterLab's page, written once."""
DIRTY_TAB = ".lm-TabBar-tab.jp-mod-current.jp-mod-dirty"


def save_notebook(page, attempts=5, wait_s=15):
    """Save the open notebook and wait until JupyterLab says it is saved. On a busy machine
    the last keystrokes can reach the model after the first save: then save again."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(attempts):
        page.keyboard.press("ControlOrMeta+s")
        try:
            page.locator(DIRTY_TAB).wait_for(state="detached", timeout=wait_s * 1000)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"the notebook was still unsaved after {attempts} saves")


def code_cell(page, text):
    """The code cell whose source contains ``text``."""
    return page.locator(".jp-CodeCell").filter(
        has=page.locator(".jp-InputArea-editor", has_text=text)).first


def replace_source(page, cell, source):
    """Put ``source`` in ``cell``'s editor in place of what it held."""
    cell.locator(".cm-content").click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.insert_text(source)
