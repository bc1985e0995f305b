"""config.queue reads django-q2's options from settings when asked, so an override reaches them
(django-q2's own Conf copied them once, at import)."""

from config.queue import default_queue_name, tasks_run_inline


def test_tasks_run_inline_as_the_settings_say_now(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    assert tasks_run_inline() is True
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    assert tasks_run_inline() is False


def test_the_default_queue_is_the_cluster_name_unless_the_environment_names_another(settings, monkeypatch):
    monkeypatch.delenv("Q_CLUSTER_NAME", raising=False)
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "name": "shop"}
    assert default_queue_name() == "shop"
    monkeypatch.setenv("Q_CLUSTER_NAME", "backfill")
    assert default_queue_name() == "backfill"
