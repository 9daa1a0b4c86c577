/* bench_login: one login through libpam, as a small PAM application started per login (as sshd
 * forks per connection). Answers the code prompt with the code the sandbox delivered to PHONE
 * and prints how long pam_authenticate took to reach the prompt.
 *   usage: bench_login SERVICE USER PHONE OUTBOX [CONFDIR]
 * With CONFDIR the service file is read from there (pam_start_confdir), so that real libpam runs
 * without pam_wrapper and the figures hold no test harness.
 * Written in C, like sshd, login and sudo: a C++ host would load libstdc++ before the module
 * does, and the figures would hide what loading the module costs a real host. */
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "outbox.h"

struct state {
    const char* phone;
    const char* outbox;
    long outbox_start;
    struct timespec authenticate_start;
    double prompt_ms;
};

static double ms_since(const struct timespec* start) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) * 1e3 +
           (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

static int conversation(int count, const struct pam_message** messages,
                        struct pam_response** replies, void* data) {
    struct state* state = data;
    struct pam_response* out = calloc((size_t)count, sizeof(struct pam_response));
    if (out == NULL)
        return PAM_BUF_ERR;
    for (int i = 0; i < count; ++i) {
        if (messages[i]->msg_style != PAM_PROMPT_ECHO_OFF)
            continue;
        if (state->prompt_ms < 0)
            state->prompt_ms = ms_since(&state->authenticate_start);
        char code[64];
        delivered_code(state->outbox, state->outbox_start, state->phone, code, sizeof code);
        out[i].resp = strdup(code);
    }
    *replies = out;
    return PAM_SUCCESS;
}

int main(int argc, char** argv) {
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: %s SERVICE USER PHONE OUTBOX [CONFDIR]\n", argv[0]);
        return 2;
    }
    struct state state = {argv[3], argv[4], outbox_end(argv[4]), {0, 0}, -1};
    struct pam_conv conv = {conversation, &state};
    pam_handle_t* pamh = NULL;
    const int started = argc == 6 ? pam_start_confdir(argv[1], argv[2], &conv, argv[5], &pamh)
                                  : pam_start(argv[1], argv[2], &conv, &pamh);
    if (started != PAM_SUCCESS)
        return 3;
    clock_gettime(CLOCK_MONOTONIC, &state.authenticate_start);
    const int rc = pam_authenticate(pamh, 0);
    pam_end(pamh, rc);
    printf("rc=%d prompt_ms=%.3f\n", rc, state.prompt_ms);
    return rc == PAM_SUCCESS ? 0 : 1;
}
