"""The summary report of a grading run: one HTML file with its charts inside (SVG).

For each assignment: how many students, their scores (a histogram), the statuses, the
score distribution of every exercise (full, partial, zero), the exercises most students
miss, the flags raised, and a table of every student with a link to their feedback.
"""
import html
from functools import partial

from autograders import svg_charts
from autograders.result import status_descriptions
from nncourse.messages import ENGLISH, say_in

STATUS_COLOURS = {"ok": "#2e7d32", "repaired": "#558b2f", "timeout": "#ef6c00",
                  "crashed": "#c62828", "memory": "#6a1b9a", "unreadable": "#616161",
                  "missing": "#9e9e9e", "unknown": "#9e9e9e", "error": "#b71c1c"}


def _exercise_stats(rows, names, aid):
    """``[(column name, key, [scores of graded submissions])]`` of one assignment."""
    graded = [r for r in rows if r["status"] not in ("missing", "unreadable", "unknown",
                                                     "error")]
    return [(names[key], key, [float(r["cells"].get(key, 0) or 0) for r in graded])
            for key in names if key[0] == aid]


def _assignment_section(aid, rows, names, cell_points, language):
    say = partial(say_in, language)
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
        labels = sorted(statuses)
        parts.append("<div class='charts'>" + svg_charts.histogram(
            scores, min(20, max(5, int(float(max_score)) + 1)), 0, float(max_score),
            say("total scores"), say("score"), say("students")) + svg_charts.columns(
            labels, [statuses[s] for s in labels], say("statuses"), say("students"),
            [STATUS_COLOURS.get(s, "#000") for s in labels]) + "</div>")
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
        order = sorted(range(len(labels)), key=lambda i: -missed[i])
        parts.append(f"<h3>{say('Score distribution per exercise')}</h3><div class='charts'>"
                     + svg_charts.rows(labels, [(say("full marks"), full, "#2e7d32"),
                                                (say("partial"), some, "#f9a825"),
                                                (say("zero"), zero, "#c62828")],
                                       say("score distribution per exercise"),
                                       say("fraction of graded submissions"))
                     + svg_charts.rows([labels[i] for i in order],
                                       [(say("without full marks"),
                                         [missed[i] for i in order], "#c62828")],
                                       say("exercises most students miss"),
                                       say("fraction without full marks")) + "</div>")
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
             "font-size:90%;text-align:left}.charts{display:flex;flex-wrap:wrap;gap:1em}"
             "svg{max-width:100%;height:auto}")
    lang = "zh-CN" if language == "zh_CN" else "en"
    text = (f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'><title>"
            f"{say('Grading report')}</title><style>{style}</style></head><body>"
            f"{''.join(body)}</body></html>")
    with open(path, "w") as f:
        f.write(text)
