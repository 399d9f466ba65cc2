from rewardsmith.core import ItemError, Sample, Score, Status


def test_status_order_from_best_to_worst():
    assert [s.rank for s in (Status.OK, Status.SKIPPED, Status.TIMEOUT, Status.ERROR)] == [
        0,
        1,
        2,
        3,
    ]


def test_text_of_chat_completion_is_last_assistant_message():
    chat = [
        {"role": "assistant", "content": "first"},
        {"role": "tool", "content": "result"},
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "fin"}, {"type": "text", "text": "al"}],
        },
    ]
    assert Sample(completion=chat).text == "final"
    assert Sample(completion=[{"role": "user", "content": "hi"}]).text == ""


def test_score_to_dict_has_the_five_output_columns():
    s = Score.failed(ValueError("bad reference"))
    assert s.to_dict() == {
        "value": None,
        "status": "error",
        "parts": {},
        "info": {},
        "error": {"type": "ValueError", "message": "bad reference"},
    }
    assert str(ItemError("T", "m")) == "T: m"
    assert Score.ok(0.5, {"a": 1}, p=1.0).to_dict()["parts"] == {"p": 1.0}
