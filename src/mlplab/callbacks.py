"""Hydra callback: when a sweep ends, write its report, print the table and name the jobs that failed.

The sweep exits non-zero only when no job completed; a few diverged or failed jobs are part of a study.
"""

import sys

from hydra.experimental.callback import Callback


class SweepReport(Callback):
    def on_multirun_end(self, config, **kwargs):
        from mlplab.report import ReportError, write_report

        try:
            report = write_report(config.hydra.sweep.dir)
        except ReportError as e:
            print(f"mlplab: {e}", file=sys.stderr)
            sys.exit(1)
        _release_joblib_workers(config)
        print(report.markdown)
        print("wrote " + ", ".join(str(p) for p in report.paths))
        bad = [job for job in report.jobs if job.status != "completed"]
        if bad:
            print(f"mlplab: {len(bad)} of {len(report.jobs)} jobs did not complete: "
                  + "; ".join(f"{job.name} ({job.status})" for job in bad))
        if report.n_completed == 0:
            print("mlplab: no job of this sweep completed", file=sys.stderr)
            sys.exit(1)


def _release_joblib_workers(config):
    """Stop the joblib launcher's idle worker processes without waiting for them.

    Every job has returned and written its files; left alone, the sweep's exit waits ~2 s while each
    worker unloads torch and Lightning.
    """
    if "joblib" not in str(config.hydra.launcher.get("_target_", "")).lower():
        return
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=False, kill_workers=True)
