//===- Stop.cpp - Graceful stop on a signal -------------------------------===//

#include "train/Stop.h"

#include <csignal>
#include <cstring>
#include <unistd.h>

namespace s2s::rt {
namespace {

volatile std::sig_atomic_t g_signal = 0;

constexpr int kStopSignals[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};

/// write(2) of a C string: what a signal handler may call.
void say(const char *text) {
  size_t left = std::strlen(text);
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, text, left);
    if (n <= 0)
      return;
    text += n;
    left -= size_t(n);
  }
}

extern "C" void onStopSignal(int signal) {
  if (g_signal != 0) {
    say("\ns2s: ");
    say(signalName(signal));
    say(" again: exiting at once; the checkpoints already written are "
        "kept\n");
    ::_exit(128 + signal);
  }
  g_signal = signal;
  say("\ns2s: ");
  say(signalName(signal));
  say(" received: finishing the current step, then writing a checkpoint "
      "(send it again to exit at once)\n");
}

} // namespace

const char *signalName(int signal) {
  switch (signal) {
  case SIGTERM:
    return "SIGTERM";
  case SIGINT:
    return "SIGINT";
  case SIGHUP:
    return "SIGHUP";
  case SIGUSR1:
    return "SIGUSR1";
  default:
    return "a signal";
  }
}

void installStopHandlers() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = onStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART; // reads and writes in flight carry on
  for (int s : kStopSignals)
    ::sigaction(s, &sa, nullptr);
  std::signal(SIGXFSZ, SIG_IGN);
}

int stopSignal() { return int(g_signal); }

} // namespace s2s::rt
