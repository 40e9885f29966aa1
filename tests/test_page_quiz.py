"""The page's quiz, honest: in quiz mode nothing in the document (its whole text, hidden parts,
attributes, the script's data) shows a number the student is asked for until it is answered or
revealed; one point per question whatever is clicked (the first answer counts, a reveal counts
as missed); what is not a number is refused, never counted; a wrong answer gets a nudge naming
the factor that is off, and the numbers only on a second miss; the quiz works on the mistakes'
passes too, asking what the bug computes. Every expected number is the engine's own, recomputed
here (its step-through, or the mistakes lesson's own buggy passes)."""

from __future__ import annotations

import re

import pytest
import test_page
from test_page import open_page, text

import autograd
from autograd import Value
from autograd.show import show

browser = test_page.browser  # (a fixture: one browser for this module)


def reused():
    """z = a*a*b + a: `a` is read three times (twice by one node), so `+=` matters."""
    a, b = Value(1.5, "a"), Value(-2.0, "b")
    z = a * a * b + a
    z.label = "z"
    return a, b, z


def distinct():
    """A neuron and its loss whose gradients are numbers no data or edge of it shows."""
    x, w, b, y = Value(0.37, "x"), Value(-1.3, "w"), Value(0.9, "b"), Value(0.25, "y")
    out = (x * w + b * x).tanh()
    out.label = "o"
    loss = (out - y) * (out - y) * 3.0
    loss.label = "loss"
    return loss


def document(browser) -> str:
    """Everything the document holds: its markup (hidden elements, attributes, the scripts'
    text and data) and its live text, as a string."""
    return browser.execute_script(
        "return document.documentElement.outerHTML + '\\n' + document.body.innerText"
        " + '\\n' + [...document.querySelectorAll('input')].map((i) => i.value).join(' ')"
    )


def pattern(number: str) -> str:
    """A number as a number (`1.19` is not in `-1.19`, nor in `21.19`), for Python and JS."""
    return r"(?<![\w.+-])" + re.escape(number) + r"(?!\w|\.\d)"


def holds(held: str, numbers: set) -> list:
    return [n for n in numbers if re.search(pattern(n), held)]


EVERY_CLICK = """
const patterns = arguments[0].map((p) => new RegExp(p));
const found = [];
const look = (what) => {
  const held = document.documentElement.outerHTML + '\\n' + document.body.innerText;
  for (const p of patterns) if (p.test(held)) found.push(what + ': ' + p.source);
};
for (const g of document.querySelectorAll('#graph .node')) {
  g.dispatchEvent(new MouseEvent('click', {bubbles: true}));
  look(g.getAttribute('aria-label'));
}
for (const row of document.querySelectorAll('#grads tbody tr')) {
  row.dispatchEvent(new MouseEvent('click', {bubbles: true}));
  look('row ' + row.dataset.id);
}
return found;
"""


def questions(browser) -> list:
    return browser.find_elements("css selector", "#quiz > div")


def answer(browser, k: int, typed: str, button: str = "check") -> str:
    line = questions(browser)[k]
    box = line.find_element("css selector", "input")
    box.clear()
    box.send_keys(typed)
    line.find_element("xpath", f".//button[text()='{button}']").click()
    return line.find_element("css selector", ".said").text


def score(browser) -> str:
    return text(browser, "score").split(" (")[0]


def test_nothing_in_the_document_shows_an_asked_number_before_an_answer(browser, tmp_path):
    loss = distinct()
    path = autograd.page(loss).save(tmp_path / "quiz.html")
    order = autograd.topological_order(loss)
    steps = list(loss.backward_steps())  # the engine's own pass, step by step
    given = {show(n.data) for n in order} | {show(g) for n in order for g in n.local_grads}
    asked_somewhere = 0
    for at in range(len(steps)):
        known = {"1.0"}  # what the page may show now: every grad after `at` steps
        for step in steps[:at]:
            known |= {show(e.grad_after) for e in step.edges}
        known |= {show(steps[at].grad)}  # this step's node's grad: the upstream, given
        asked = {show(e.grad_after) for step in steps[at:] for e in step.edges if not e.constant}
        asked |= {repr(e.grad_after) for step in steps[at:] for e in step.edges if not e.constant}
        hidden = asked - given - known
        asked_somewhere += len(hidden)
        open_page(browser, path, f"#step={at}&mode=quiz")
        # each value's paths (its totals), clicked as a student would look, the document read
        # after each click (in the page: one round trip)
        assert browser.execute_script(EVERY_CLICK, [pattern(n) for n in hidden]) == [], at
        assert not holds(document(browser), hidden), at
    assert asked_somewhere > 10  # (the check above had numbers to look for)
    # and once revealed, the number is there: the check above would have seen it
    open_page(browser, path, "#step=1&mode=quiz")
    answer(browser, 0, "", "reveal")
    assert holds(document(browser), {show(steps[1].edges[0].grad_after)})


def test_one_point_per_question_whatever_is_clicked(browser, tmp_path):
    a, b, z = reused()
    path = autograd.page(z).save(tmp_path / "quiz.html")
    steps = list(z.backward_steps())
    right = [show(e.grad_after) for e in steps[0].edges]  # v2 then a, after step 1
    open_page(browser, path, "#step=0&mode=quiz")
    assert len(questions(browser)) == 2
    for _ in range(3):
        assert answer(browser, 0, right[0]).startswith("right")
    answer(browser, 0, "", "reveal")
    assert score(browser) == "score: 1 of 1"  # one question, one point, whatever followed
    answer(browser, 1, "12345")  # wrong first: the question is missed for good
    assert answer(browser, 1, right[1]).startswith("right (the first answer counts")
    assert score(browser) == "score: 1 of 2"
    browser.find_element("id", "next").click()
    answer(browser, 0, "", "reveal")  # revealed before any answer: missed
    assert answer(browser, 0, show(steps[1].edges[0].grad_after)).startswith("right")
    assert score(browser) == "score: 1 of 3"
    browser.find_element("id", "prev").click()  # back to a question already scored
    assert answer(browser, 1, right[1]).startswith("right")
    assert score(browser) == "score: 1 of 3"


def test_what_is_not_a_number_is_refused_and_the_forms_a_number_takes(browser, tmp_path):
    x, y = Value(3.0, "x"), Value(0.5, "y")
    out = x * y
    out.label = "out"  # step 1: x.grad = 0.5 (and y.grad = 3.0)
    path = autograd.page(out).save(tmp_path / "quiz.html")
    open_page(browser, path, "#mode=quiz")
    for typed in ("abc", "0,5", "1/0", "1/2/3", "2*x", "alert(1)", "", "   ", "0x1", "1e", "--1"):
        said = answer(browser, 0, typed)
        assert said.startswith("not a number (not counted)"), typed
    assert "a point, not a comma" in answer(browser, 0, "0,5")
    assert score(browser) == "score: 0 of 0"
    for typed in ("1/2", "0.5", ".5", "5e-1", "+0.5", "2/4", " 1 / 2 ", "0.50", "5.E-1"):
        assert answer(browser, 0, typed).startswith("right"), typed
    assert score(browser) == "score: 1 of 1"
    assert "1e-3" in answer(browser, 1, "x")  # the refusal says which forms are read


@pytest.mark.parametrize(
    "typed, says",
    [
        ("upstream", "the local derivative is off"),  # v1.grad alone: forgot d v1/d a
        ("local", "the upstream gradient is off"),  # d v1/d a alone: forgot v1.grad
        ("own data", "not a's own data"),  # d(a*b)/da taken as a
        ("negated", "a sign is off"),
    ],
)
def test_a_wrong_answer_gets_a_nudge_then_the_numbers(browser, tmp_path, typed, says):
    a = Value(1.5, "a")
    b = Value(-2.0, "b")
    v1 = a * b
    z = v1.tanh() * 2.0
    z.label = "z"  # step 3 (v1 = a * b): a.grad = v1.grad * b
    path = autograd.page(z).save(tmp_path / "quiz.html")
    steps = list(z.backward_steps())
    edge = steps[2].edges[0]
    upstream, local = steps[2].grad, edge.local
    number = {
        "upstream": upstream,
        "local": local,
        "own data": upstream * a.data,
        "negated": -upstream * local,
    }[typed]
    open_page(browser, path, "#step=2&mode=quiz")
    first = answer(browser, 0, repr(number))
    assert first.startswith("not quite: ") and says in first
    assert show(edge.grad_after) not in first and show(upstream) not in first  # no numbers yet
    second = answer(browser, 0, repr(number))
    line = next(s for s in str(steps[2]).splitlines() if s.strip().startswith("a.grad "))
    assert second == "not quite, the numbers: " + " ".join(line.split())  # the step-through's
    assert text(browser, "score").startswith("score: 0 of 1")


def test_a_missed_path_and_equals_for_plus_equals(browser, tmp_path):
    a, b, z = reused()
    path = autograd.page(z).save(tmp_path / "quiz.html")
    steps = list(z.backward_steps())
    # step 3: v1 = a * a with a.grad already 1.0 from z = v2 + a; two edges into a
    first, second = steps[2].edges
    upstream = steps[2].grad
    open_page(browser, path, "#step=2&mode=quiz")
    assert [q.text.split(" =")[0] for q in questions(browser)] == [
        "a.grad after operand 1",
        "a.grad after operand 2",
    ]
    said = answer(browser, 0, repr(upstream * first.local))  # dropped the 1.0 a held
    assert said.startswith("not quite: = for +=")
    said = answer(browser, 1, repr(1.0 + upstream * second.local))  # dropped operand 1's share
    assert said.startswith("not quite: a missed path")
    assert answer(browser, 0, repr(first.grad_after)).startswith("right")


def test_the_quiz_on_the_mistakes_passes_asks_what_the_bug_computes(browser, tmp_path):
    from selenium.webdriver.support.ui import Select

    from demos import mistakes

    x, y, root = mistakes.graph()
    path = autograd.page(root).save(tmp_path / "quiz.html")
    mistakes.overwrite(root)  # the lesson's own `=` pass: what each grad ends as
    bug = {"x": x.grad, "y": y.grad}
    root.backward()
    open_page(browser, path, "#mode=quiz&pass=overwrite")
    assert Select(browser.find_element("id", "pass")).first_selected_option.text.startswith(
        "mistake: ="
    )
    assert text(browser, "where").startswith("mistake (= instead of +=): now: step 1")
    last = int(browser.execute_script("return document.getElementById('scrub').max"))
    answered = {}
    for _ in range(last):
        for k, line in enumerate(questions(browser)):
            name = line.text.split(".grad")[0]
            said = answer(browser, k, "", "reveal")
            answered[name] = said.split("-> " + name + ".grad = ")[1].split(" ")[0]
        browser.find_element("id", "next").click()
    assert answered["x"] == show(bug["x"]) and answered["y"] == show(bug["y"])
    assert bug["x"] != x.grad  # (the bug's answer is not the engine's)
    # step 2 of the bug's pass, b = a + x: a held b's data from step 1, and `=` drops it; the
    # engine's `+=` answer is the wrong one here, and the nudge says so
    a_data = x.data * y.data
    b_data = a_data + x.data
    open_page(browser, path, "#mode=quiz&pass=overwrite&step=1")
    a_name = autograd.steps.node_names(root)[root.parents[0]]  # (a = x * y, unlabelled)
    lines = [line.text.split(".grad")[0] for line in questions(browser)]
    k = lines.index(a_name)
    said = answer(browser, k, repr(b_data + a_data * 1.0))
    assert said.startswith("not quite: this pass is the bug: = puts")
    assert answer(browser, k, repr(a_data)).startswith("right")
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_a_right_answer_or_a_reveal_puts_that_grad_on_the_graph(browser, tmp_path):
    """Once a question is answered right (or revealed), that parent's box and table row show
    its grad after the step, as the pass would; the others keep their dot until theirs is."""
    from test_page import grads_shown

    a, b, z = reused()
    path = autograd.page(z).save(tmp_path / "quiz.html")
    steps = list(z.backward_steps())
    first, second = steps[0].edges  # v2 then a, after step 1
    open_page(browser, path, "#step=0&mode=quiz")

    def box(name: str) -> str:
        return browser.execute_script(
            "const g = [...document.querySelectorAll('#graph .node')]"
            ".find((n) => n.getAttribute('aria-label') === arguments[0]);"
            "return [...g.querySelectorAll('text')].map((t) => t.textContent).join(' | ');",
            name,
        )

    assert "grad \u00b7" in box("a") and grads_shown(browser)["a"] == "\u00b7"
    assert answer(browser, 0, show(first.grad_after)).startswith("right")
    shown = grads_shown(browser)
    assert shown[first.parent_name] == show(first.grad_after)
    assert shown[second.parent_name] == "\u00b7"  # not answered yet
    answer(browser, 1, "", "reveal")
    assert grads_shown(browser)[second.parent_name] == show(second.grad_after)
    assert f"grad {show(second.grad_after)}" in box(second.parent_name)
    browser.find_element("id", "next").click()
    browser.find_element("id", "prev").click()  # the step drawn again: still shown
    assert grads_shown(browser)[second.parent_name] == show(second.grad_after)


def test_a_link_changed_in_the_open_page_takes_it_there(browser, tmp_path):
    """A teacher types another #step= (or follows a slide's link) into the open page: it goes
    there, in the mode the link names, without a reload; the page's own steps do not loop."""
    a, b, z = reused()
    path = autograd.page(z).save(tmp_path / "links.html")
    open_page(browser, path, "#step=1")
    assert text(browser, "where").startswith("after step 1 of")
    browser.execute_script("location.hash = '#step=2&mode=quiz'")
    assert text(browser, "where").startswith("now: step 3 of")  # the quiz asks the next step
    assert questions(browser) and browser.find_element("id", "quizmode").is_selected()
    browser.execute_script("location.hash = '#step=end'")
    assert text(browser, "where").startswith("after step 3 of 3")
    assert not browser.find_element("id", "quizmode").is_selected() and not questions(browser)
    browser.find_element("id", "prev").click()  # the page's own step: the link follows it
    assert browser.execute_script("return location.hash") == "#step=2"
    assert text(browser, "where").startswith("after step 2 of")


def test_the_quiz_at_the_end_of_the_pass_says_there_is_nothing_left_to_ask(browser, tmp_path):
    a, b, z = reused()
    path = autograd.page(z).save(tmp_path / "end.html")
    open_page(browser, path, "#step=9&mode=quiz")  # beyond the last step: the finished pass
    assert not questions(browser)
    assert text(browser, "quiz").startswith("the pass is finished: nothing is left to ask")
