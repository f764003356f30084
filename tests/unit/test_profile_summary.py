"""`bench.profile_summary` sums a py-spy raw profile by thread, event-loop task and function."""

from __future__ import annotations

from bench import profile_summary

RAW = """\
_run_module_as_main (<frozen runpy>:198);BaseEventLoop._run_once (asyncio/base_events.py:1922);Handle._run (asyncio/events.py:80);Agent._execute_actor (faust/agents/agent.py:674);handle_one (envgrid/streams/agents.py:91) 6
_run_module_as_main (<frozen runpy>:198);BaseEventLoop._run_once (asyncio/base_events.py:1922);Handle._run (asyncio/events.py:80);Sender._sender_routine (aiokafka/producer/sender.py:120) 3
Thread._bootstrap (threading.py:1002);Fetcher._proc_fetch_request (aiokafka/consumer/fetcher.py:700) 1
"""


def test_the_summary_splits_samples_by_thread_task_and_function(tmp_path, capsys):
    profile = tmp_path / "desk.txt"
    profile.write_text(RAW)
    profile_summary.main([str(profile), "--match", "envgrid/"])
    out = capsys.readouterr().out
    assert "10 samples" in out
    assert " 60.0%  main             Agent._execute_actor" in out
    assert " 30.0%  main             Sender._sender_routine" in out
    assert " 10.0%  other-thread     Fetcher._proc_fetch_request" in out
    functions = out.split("functions, inclusive:")[1]
    assert " 60.0%  handle_one (envgrid/streams/agents.py)" in functions
    assert "Sender" not in functions  # --match keeps only the frames asked for
