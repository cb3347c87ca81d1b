// The pod sandbox's process: it holds the pod's namespaces while the pod lives, reaps the orphans it
// inherits (it is PID 1 when the pod shares one PID namespace), and exits on SIGINT or SIGTERM.
// Built static (hack/images/build.ts pause), so its image is this binary alone.
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int signal) {
  (void)signal;
  _exit(0);
}

static void on_child(int signal) {
  (void)signal;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction stop = {.sa_handler = on_stop};
  struct sigaction child = {.sa_handler = on_child, .sa_flags = SA_NOCLDSTOP | SA_RESTART};
  if (sigaction(SIGINT, &stop, NULL) < 0 || sigaction(SIGTERM, &stop, NULL) < 0 ||
      sigaction(SIGCHLD, &child, NULL) < 0) {
    return 1;
  }
  for (;;) pause();
}
