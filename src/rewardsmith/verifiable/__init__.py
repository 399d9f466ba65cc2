"""Rule-based checkers: formats, QA matching, math answers, code, SQL, tools, search.

One module or package per registry prefix (``math.*`` is ``math/``, ``json.*`` is
``json.py``; the table is in ``docs/catalog.md``). ``answers`` (where a completion's
final answer is) and ``answer_text`` (normalising it) are shared by ``math``, ``choice``,
``acre`` and ``consensus``; ``extract`` holds the last-``<answer>``-block rule.
"""
