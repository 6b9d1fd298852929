"""The report's charts as inline SVG: bars with axes and labels, drawn as text by the
browser (so Chinese labels need no font on the grader), in a millisecond each where
matplotlib took a quarter of a second per figure at the end of every grading run."""
import html
import math

FONT = "font-family='sans-serif' font-size='11'"
CHAR_WIDTH = 6.5  # px of an average character at FONT's size, to leave room for labels


def _text(x, y, text, anchor="middle", extra=""):
    return (f"<text x='{x:.1f}' y='{y:.1f}' text-anchor='{anchor}' {FONT} {extra}>"
            f"{html.escape(str(text))}</text>")


def _svg(width, height, title, parts):
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
            f"viewBox='0 0 {width} {height}' role='img' aria-label='{html.escape(title)}'>"
            + _text(width / 2, 16, title, extra="font-weight='bold'") + "".join(parts)
            + "</svg>")


def _ticks(top, count=5, whole=False):
    """Round steps from 0 to at least ``top`` (``whole``: steps of 1 or more)."""
    if top <= 0:
        return [0, 1]
    step = 10 ** math.floor(math.log10(top / count))
    for factor in (1, 2, 5, 10):
        if top / (step * factor) <= count:
            step *= factor
            break
    step = max(step, 1) if whole else step
    return [step * i for i in range(int(math.ceil(top / step - 1e-9)) + 1)]


def columns(labels, values, title, ylabel, colours="#1565c0", xlabel=None, x_range=None,
            width=460, height=240):
    """Vertical bars of counts, one per label (``colours``: one colour, or one per bar);
    ``x_range``: ``(low, high)`` when the bars stand for bins of that range, which the
    x axis then shows instead of the labels."""
    colours = [colours] * len(labels) if isinstance(colours, str) else list(colours)
    left, right, top, bottom = 48, 12, 28, 44 if xlabel else 30
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = _ticks(max(values, default=0), whole=True)
    scale = plot_h / ticks[-1]
    parts = [_text(12, top + plot_h / 2, ylabel, extra=f"transform='rotate(-90 12 "
                   f"{top + plot_h / 2:.1f})'")]
    for tick in ticks:
        y = top + plot_h - tick * scale
        parts.append(f"<line x1='{left}' x2='{left + plot_w}' y1='{y:.1f}' y2='{y:.1f}' "
                     "stroke='#ddd'/>")
        parts.append(_text(left - 4, y + 4, f"{tick:g}", anchor="end"))
    slot = plot_w / max(1, len(labels))
    bar = min(slot * 0.8, 60.0)
    for i, (label, value, colour) in enumerate(zip(labels, values, colours)):
        x, h = left + i * slot, value * scale
        parts.append(f"<rect x='{x + (slot - bar) / 2:.1f}' y='{top + plot_h - h:.1f}' "
                     f"width='{bar:.1f}' height='{h:.1f}' fill='{colour}'>"
                     f"<title>{html.escape(f'{label}: {value:g}')}</title></rect>")
        if x_range is None:
            parts.append(_text(x + slot / 2, top + plot_h + 14, label))
    if x_range is not None:
        low, high = x_range
        for tick in _ticks(high - low):
            x = left + tick / ((high - low) or 1) * plot_w
            parts.append(_text(x, top + plot_h + 14, f"{low + tick:g}"))
    if xlabel:
        parts.append(_text(left + plot_w / 2, height - 6, xlabel))
    return _svg(width, height, title, parts)


def histogram(values, bins, low, high, title, xlabel, ylabel, colour="#1565c0"):
    """How many ``values`` fall in each of ``bins`` equal bins from ``low`` to ``high``
    (the last bin includes ``high``)."""
    width = (high - low) / bins or 1
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, max(0, int((v - low) / width)))] += 1
    labels = [f"{low + i * width:.3g}-{low + (i + 1) * width:.3g}" for i in range(bins)]
    return columns(labels, counts, title, ylabel, colour, xlabel=xlabel,
                   x_range=(low, high))


def rows(labels, segments, title, xlabel, width=520):
    """Horizontal bars of fractions (0 to 1), one row per label; ``segments``:
    ``[(name, [fraction per row], colour)]``, stacked left to right, with a legend."""
    label_w = min(220, CHAR_WIDTH * max((len(str(s)) for s in labels), default=4) + 8)
    left, right, top, row_h = label_w, 14, 28, 22
    legend = len(segments) > 1
    plot_w, plot_h = width - left - right, row_h * len(labels)
    height = top + plot_h + 34 + (18 if legend else 0)
    parts = []
    for tick in (0, 0.25, 0.5, 0.75, 1):
        x = left + tick * plot_w
        parts.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{top}' y2='{top + plot_h}' "
                     "stroke='#ddd'/>")
        parts.append(_text(x, top + plot_h + 14, f"{tick:.0%}"))
    for i, label in enumerate(labels):
        y = top + i * row_h
        parts.append(_text(left - 6, y + row_h / 2 + 4, label, anchor="end"))
        x = left
        for name, fractions, colour in segments:
            w = max(0.0, min(1.0, fractions[i])) * plot_w
            parts.append(f"<rect x='{x:.1f}' y='{y + 3}' width='{w:.1f}' "
                         f"height='{row_h - 6}' fill='{colour}'><title>"
                         f"{html.escape(f'{label}: {name} {fractions[i]:.0%}')}</title></rect>")
            x += w
    parts.append(_text(left + plot_w / 2, top + plot_h + 30, xlabel))
    if legend:
        x = left
        for name, _, colour in segments:
            parts.append(f"<rect x='{x:.1f}' y='{height - 14}' width='10' height='10' "
                         f"fill='{colour}'/>")
            parts.append(_text(x + 14, height - 5, name, anchor="start"))
            x += 24 + CHAR_WIDTH * len(str(name))
    return _svg(width, height, title, parts)
