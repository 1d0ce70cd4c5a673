"""Read TensorBoard event folders back the way TensorBoard does (its own event reader)."""

from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer
from tensorboard.plugins.hparams import plugin_data_pb2


def load_runs(logdir):
    """{run name: accumulator} for every run TensorBoard would list under ``logdir``."""
    mux = EventMultiplexer()
    mux.AddRunsFromDirectory(str(logdir))
    mux.Reload()
    return {name: mux.GetAccumulator(name) for name in mux.Runs()}


def hparam_sessions(acc):
    """The hparams each session_start_info of a run holds, as plain dicts."""
    content = acc.PluginTagToContent("hparams")
    sessions = []
    for tag, raw in content.items():
        if tag.endswith("session_start_info"):
            data = plugin_data_pb2.HParamsPluginData.FromString(raw)
            hp = data.session_start_info.hparams
            sessions.append({k: v.string_value or v.number_value or v.bool_value for k, v in hp.items()})
    return sessions


def scalar_steps(acc, tag):
    return [(e.step, e.value) for e in acc.Scalars(tag)]
