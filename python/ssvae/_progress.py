"""_progress.py — the per-epoch progress bar of ssvae.train: one line
rewritten in place on a terminal, one display updated in place in a Jupyter
notebook, and a plain line an epoch otherwise (a log file)."""
import sys


def _in_notebook():
    shell = sys.modules.get("IPython")
    if shell is None or "ipykernel" not in sys.modules:
        return False
    try:
        ip = shell.get_ipython()
    except Exception:
        return False
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


class Bar:
    def __init__(self, label, supervised, stream=None):
        self.label = label
        self.supervised = supervised
        self.stream = stream or sys.stderr
        self.handle = None
        self.notebook = _in_notebook()
        self.tty = not self.notebook and hasattr(self.stream, "isatty") and self.stream.isatty()

    def text(self, st):
        width = 20
        done = int(width * st.epoch / max(st.epochs, 1))
        bar = "#" * done + "." * (width - done)
        left = st.elapsed / st.epoch * (st.epochs - st.epoch) if st.epoch else 0.0
        what = ("mse %.3g" % st.loss if self.supervised else
                "loss %.4f  elbo %.4f nats (max %.2f)" % (st.loss, st.elbo, st.log_b))
        return "%s [%s] epoch %d/%d  %s  %.2f s/epoch  %.0f s left" % (
            self.label, bar, st.epoch, st.epochs, what, st.seconds, left)

    def epoch(self, st):
        line = self.text(st)
        if self.notebook:
            from IPython.display import display
            if self.handle is None:
                self.handle = display({"text/plain": line}, raw=True, display_id=True)
            else:
                self.handle.update({"text/plain": line}, raw=True)
            return
        if self.tty:
            self.stream.write("\r\033[K" + line + ("\n" if st.epoch == st.epochs else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def note(self, text):
        if self.tty:
            self.stream.write("\n")
        self.stream.write(text + "\n")
        self.stream.flush()
