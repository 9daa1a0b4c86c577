// PamWorld: what a PAM-layer test needs around the built module: config and service files in a
// temp dir, the sandbox's outbox and request log, its control endpoints, and the captured
// pam_syslog lines. The runner (run_pam_tests.py) sets the world up and passes it in VERIF8_*.
#pragma once

#include <security/pam_appl.h>

#include <string>
#include <vector>

namespace pamtest {

struct Request {
    std::string method;
    std::string path;
    std::string bodyJson;  // the body as the sandbox parsed it, re-serialised; "" when none
    bool codePresent = false;
    bool codeMatched = false;
    long status = 0;
};

// A scripted user at the prompt. Answers: a literal string, "{code}" (the code the sandbox last
// delivered), "{wrong}" (a code that is not it), "{null}" (a NULL reply), "{expire}" (expire the
// session at the sandbox, then answer with the code).
struct Script {
    explicit Script(std::vector<std::string> scripted = {}) : answers(std::move(scripted)) {}

    std::vector<std::string> answers;
    std::vector<std::string> prompts;
    std::vector<std::string> errors;
    std::size_t next = 0;
};

std::string env(const char* name);

// Writes a config file from the sandbox defaults plus `extra` lines (later keys are not
// allowed by the module to repeat: pass keys the defaults lack, or use `replace`).
std::string writeConfig(const std::string& name, const std::string& extra = "",
                        const std::vector<std::string>& drop = {}, unsigned mode = 0600);
// `after` adds lines below the module's, e.g. a module that succeeds on its own.
void writeService(const std::string& name, const std::string& args, const std::string& after = "");

// Runs pam_authenticate for `user` through the service and returns what it returned.
int authenticate(const std::string& service, const std::string& user, Script& script,
                 int flags = 0);

void sandboxControl(const std::string& action);
std::vector<Request> requestsSince(std::size_t mark);
std::size_t requestMark();
std::string lastDeliveredCode();
std::size_t deliveryCount();

// pam_syslog lines written since `mark` (the runner points the test's stderr at a file).
std::size_t logMark();
std::string logSince(std::size_t mark);

}  // namespace pamtest
