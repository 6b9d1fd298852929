"""The summary report of a grading run: one HTML file with its plots inside.

For each assignment: how many students, their scores (a histogram), the statuses, the
score distribution of every exercise (full, partial, zero), the exercises most students
miss, the flags raised, and a table of every student with a link to their feedback.
"""
import base64
import html
import io
from functools import partial

from autograders.result import status_descriptions
from nncourse.messages import ENGLISH, say_in

# Fonts with the glyphs of Chinese, in the order tried for the plots' labels.
CJK_FONTS = ["Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "SimHei",
             "Microsoft YaHei", "PingFang SC"]
STATUS_COLOURS = {"ok": "#2e7d32", "repaired": "#558b2f", "timeout": "#ef6c00",
                  "crashed": "#c62828", "memory": "#6a1b9a", "unreadable": "#616161",
                  "missing": "#9e9e9e", "unknown": "#9e9e9e", "error": "#b71c1c"}


def import_plotting():
    """Import matplotlib (with a backend that draws to files): the grader does it while
    the workers grade, so that the report at the end does not wait for it."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401


def _png(fig):
    import matplotlib.pyplot as plt
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return ("<img alt='' src='data:image/png;base64,"
            + base64.b64encode(buf.getvalue()).decode() + "'>")


def _exercise_stats(rows, names, aid):
    """``[(column name, key, [scores of graded submissions])]`` of one assignment."""
    graded = [r for r in rows if r["status"] not in ("missing", "unreadable", "unknown",
                                                     "error")]
    return [(names[key], key, [float(r["cells"].get(key, 0) or 0) for r in graded])
            for key in names if key[0] == aid]


def figure_language(language):
    """The language the plots can speak: ``language`` when a font with its glyphs is
    installed (and then that font is used), else English, rather than empty boxes."""
    from matplotlib import font_manager, rcParams
    if language == ENGLISH:
        return language
    for family in CJK_FONTS:
        try:
            font_manager.findfont(family, fallback_to_default=False)
        except ValueError:
            continue
        rcParams["font.sans-serif"] = [family] + list(rcParams["font.sans-serif"])
        return language
    return ENGLISH


def _assignment_section(aid, rows, names, cell_points, language):
    import_plotting()
    import matplotlib.pyplot as plt

    say = partial(say_in, language)
    plot_say = partial(say_in, figure_language(language))
    parts = [f"<h2>{html.escape(aid or say('(no assignment)'))}</h2>"]
    statuses = {}
    for row in rows:
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    max_score = next((r["max_score"] for r in rows if r["max_score"] != ""), "")
    scores = [float(r["score"] or 0) for r in rows if r["score"] != ""]
    if scores and max_score:
        mean = sum(scores) / len(scores)
        counts = ", ".join(f"<span style='color:{STATUS_COLOURS.get(s, '#000')}'>"
                           f"{html.escape(s)}: {n}</span>" for s, n in sorted(statuses.items()))
        parts.append("<p>" + say("{students} students; mean score {mean:.2f} of {max}; "
                                 "{counts}", students=len(rows), mean=mean, max=max_score,
                                 counts=counts) + "</p>")
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
        axes[0].hist(scores, bins=min(20, max(5, int(float(max_score)) + 1)),
                     range=(0, float(max_score)), color="#1565c0")
        axes[0].set_xlabel(plot_say("score"))
        axes[0].set_ylabel(plot_say("students"))
        axes[0].set_title(plot_say("total scores"))
        labels = sorted(statuses)
        axes[1].bar(labels, [statuses[s] for s in labels],
                    color=[STATUS_COLOURS.get(s, "#000") for s in labels])
        axes[1].set_title(plot_say("statuses"))
        axes[1].set_ylabel(plot_say("students"))
        parts.append(_png(fig))
    stats = _exercise_stats(rows, names, aid)
    if stats and any(s[2] for s in stats):
        labels, full, some, zero, missed = [], [], [], [], []
        for name, key, values in stats:
            points = cell_points.get(key) or max(values + [0.0]) or 1.0
            n = max(1, len(values))
            labels.append(name)
            full.append(sum(v >= points for v in values) / n)
            zero.append(sum(v <= 0 for v in values) / n)
            some.append(1 - full[-1] - zero[-1])
            missed.append(1 - full[-1])
        fig, axes = plt.subplots(1, 2, figsize=(11, 0.45 * len(labels) + 1.2))
        y = range(len(labels))
        axes[0].barh(y, full, color="#2e7d32", label=plot_say("full marks"))
        axes[0].barh(y, some, left=full, color="#f9a825", label=plot_say("partial"))
        axes[0].barh(y, zero, left=[f + p for f, p in zip(full, some)],
                     color="#c62828", label=plot_say("zero"))
        axes[0].set_yticks(list(y), labels)
        axes[0].invert_yaxis()
        axes[0].set_xlim(0, 1)
        axes[0].set_xlabel(plot_say("fraction of graded submissions"))
        axes[0].set_title(plot_say("score distribution per exercise"))
        axes[0].legend(loc="lower right", fontsize=8)
        order = sorted(range(len(labels)), key=lambda i: -missed[i])
        axes[1].barh(range(len(order)), [missed[i] for i in order], color="#c62828")
        axes[1].set_yticks(range(len(order)), [labels[i] for i in order])
        axes[1].invert_yaxis()
        axes[1].set_xlim(0, 1)
        axes[1].set_xlabel(plot_say("fraction without full marks"))
        axes[1].set_title(plot_say("exercises most students miss"))
        fig.tight_layout()
        parts.append(f"<h3>{say('Score distribution per exercise')}</h3>" + _png(fig))
        parts.append(f"<h3>{say('Exercises most students miss')}</h3><table><tr>"
                     f"<th>{say('exercise')}</th><th>{say('without full marks')}</th>"
                     f"<th>{say('zero')}</th></tr>" + "".join(
                         f"<tr><td>{html.escape(labels[i])}</td><td>{missed[i]:.0%}</td>"
                         f"<td>{zero[i]:.0%}</td></tr>" for i in order) + "</table>")
    flags = {}
    for row in rows:
        for flag in filter(None, row["flags"].split(";")):
            kind = flag.split(":")[0] if not flag.startswith("tamper:") else flag
            flags[kind] = flags.get(kind, 0) + 1
    if flags:
        parts.append(f"<h3>{say('Flags')}</h3><table><tr><th>{say('flag')}</th>"
                     f"<th>{say('students')}</th></tr>"
                     + "".join(f"<tr><td>{html.escape(k)}</td><td>{v}</td></tr>"
                               for k, v in sorted(flags.items())) + "</table>")
    return "\n".join(parts)


def write_report(path, rows, names, state, language=ENGLISH):
    """Write the summary report of ``rows`` (as in grades.csv) to ``path``, in
    ``language``."""
    say = partial(say_in, language)
    cell_points = {}
    try:
        from autograders.collect import release_notebooks
        for aid in {k[0] for k in names}:
            for nb_name, nb in release_notebooks(aid).items():
                for cell in nb.cells:
                    meta = cell.metadata.get("nbgrader", {})
                    if meta.get("grade"):
                        cell_points[(aid, nb_name[:-6], meta["grade_id"])] = float(
                            meta.get("points", 0))
    except Exception:
        pass
    by_assignment = {}
    for row in rows:
        by_assignment.setdefault(row["assignment"], []).append(row)
    sandboxed = state.get("last_run", {}).get("sandbox")
    isolation = ("<p>" + say("Every kernel ran in a sandbox of its own (no network, no "
                             "other files or processes in reach).") + "</p>" if sandboxed
                 else "<p class='warning'>" + say("<b>Graded without a sandbox</b> "
                                                  "(--no-sandbox): students' code ran with "
                                                  "the grader's permissions.") + "</p>")
    body = [f"<h1>{say('Grading report')}</h1>", isolation,
            "<p>" + say("{rows} rows, {assignments} assignments. Statuses:", rows=len(rows),
                        assignments=len(by_assignment)) + "</p><ul>"]
    body += [f"<li><b>{html.escape(s)}</b>: {html.escape(d)}</li>"
             for s, d in status_descriptions(language).items()]
    body.append("</ul>")
    for aid, group in by_assignment.items():
        body.append(_assignment_section(aid, group, names, cell_points, language))
    headings = [say("student"), say("assignment"), say("score"), say("max"),
                say("status"), say("flags"), say("notes"), say("feedback")]
    body.append(f"<h2>{say('Students')}</h2><table><tr>"
                + "".join(f"<th>{h}</th>" for h in headings) + "</tr>")
    for row in rows:
        info = state["rows"].get(f"{row['assignment']}/{row['student_id']}", {})
        links = " ".join(f"<a href='{html.escape(p)}'>{html.escape(p.rsplit('/', 1)[-1])}"
                         f"</a>" for p in info.get("feedback", []))
        notes = html.escape("; ".join(info.get("notes", []))[:500])
        colour = STATUS_COLOURS.get(row["status"], "#000")
        body.append(f"<tr><td>{html.escape(row['student_id'])}</td>"
                    f"<td>{html.escape(row['assignment'])}</td><td>{row['score']}</td>"
                    f"<td>{row['max_score']}</td>"
                    f"<td style='color:{colour}'>{html.escape(row['status'])}</td>"
                    f"<td>{html.escape(row['flags'])}</td><td>{notes}</td>"
                    f"<td>{links}</td></tr>")
    body.append("</table>")
    style = ("body{font-family:sans-serif;margin:2em;max-width:80em}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;"
             "font-size:90%;text-align:left}img{max-width:100%}")
    lang = "zh-CN" if language == "zh_CN" else "en"
    text = (f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'><title>"
            f"{say('Grading report')}</title><style>{style}</style></head><body>"
            f"{''.join(body)}</body></html>")
    with open(path, "w") as f:
        f.write(text)
