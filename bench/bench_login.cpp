// bench_login: one login through libpam, as a small PAM application started per login (as sshd
// forks per connection). Answers the code prompt with the code the sandbox delivered to PHONE
// and prints how long pam_authenticate took to reach the prompt.
//   usage: bench_login SERVICE USER PHONE OUTBOX [CONFDIR]
// With CONFDIR the service file is read from there (pam_start_confdir), so that real libpam runs
// without pam_wrapper and the figures hold no test harness.
#include <security/pam_appl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace {
using Clock = std::chrono::steady_clock;

struct State {
    std::string phone;
    std::string outbox;
    std::streamoff outboxStart = 0;
    Clock::time_point authenticateStart;
    double promptMs = -1;
};

// The latest code the sandbox delivered to our phone since this process started.
std::string deliveredCode(const State& state) {
    const std::string destination = "\"destination\": \"" + state.phone + "\"";
    for (int round = 0; round < 2000; ++round) {
        std::ifstream in(state.outbox);
        in.seekg(state.outboxStart);
        std::string line, code;
        while (std::getline(in, line)) {
            if (line.find(destination) == std::string::npos)
                continue;
            const std::size_t at = line.find("\"code\": \"");
            if (at != std::string::npos)
                code = line.substr(at + 9, line.find('"', at + 9) - at - 9);
        }
        if (!code.empty())
            return code;
        usleep(1000);
    }
    return "";
}

int conversation(int count, const pam_message** messages, pam_response** replies, void* data) {
    auto* state = static_cast<State*>(data);
    auto* out = static_cast<pam_response*>(calloc(static_cast<size_t>(count), sizeof(pam_response)));
    if (out == nullptr)
        return PAM_BUF_ERR;
    for (int i = 0; i < count; ++i) {
        if (messages[i]->msg_style != PAM_PROMPT_ECHO_OFF)
            continue;
        if (state->promptMs < 0)
            state->promptMs = std::chrono::duration<double, std::milli>(
                                  Clock::now() - state->authenticateStart)
                                  .count();
        out[i].resp = strdup(deliveredCode(*state).c_str());
    }
    *replies = out;
    return PAM_SUCCESS;
}
}  // namespace

int main(int argc, char** argv) {
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: %s SERVICE USER PHONE OUTBOX [CONFDIR]\n", argv[0]);
        return 2;
    }
    State state;
    state.phone = argv[3];
    state.outbox = argv[4];
    {
        std::ifstream in(state.outbox, std::ios::ate);
        state.outboxStart = in ? static_cast<std::streamoff>(in.tellg()) : 0;
    }
    pam_conv conv{conversation, &state};
    pam_handle_t* pamh = nullptr;
    const int started = argc == 6 ? pam_start_confdir(argv[1], argv[2], &conv, argv[5], &pamh)
                                  : pam_start(argv[1], argv[2], &conv, &pamh);
    if (started != PAM_SUCCESS)
        return 3;
    state.authenticateStart = Clock::now();
    const int rc = pam_authenticate(pamh, 0);
    pam_end(pamh, rc);
    printf("rc=%d prompt_ms=%.3f\n", rc, state.promptMs);
    return rc == PAM_SUCCESS ? 0 : 1;
}
