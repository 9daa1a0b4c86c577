// PamConversation: prompts through pam_conv, wiping replies before freeing them.
#include "PamConversation.hpp"

#include <security/pam_appl.h>

#include <cstdlib>
#include <cstring>

namespace verif8 {

namespace {
// Frees an application's reply array, wiping each answer first.
void freeReplies(pam_response* replies, int count) {
    if (replies == nullptr)
        return;
    for (int i = 0; i < count; ++i) {
        if (replies[i].resp != nullptr) {
            wipeMemory(replies[i].resp, strlen(replies[i].resp));
            free(replies[i].resp);
        }
    }
    free(replies);
}
// Compares in time that depends on the lengths only, not on where the texts first differ.
bool sameText(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    unsigned char difference = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        difference |= static_cast<unsigned char>(a[i] ^ b[i]);
    return difference == 0;
}
}  // namespace

int PamConversation::converse(int style, const std::string& text, SecretString* reply) {
    const void* item = nullptr;
    if (pam_get_item(pamh_, PAM_CONV, &item) != PAM_SUCCESS || item == nullptr)
        return PAM_CONV_ERR;
    const auto* conv = static_cast<const pam_conv*>(item);
    if (conv->conv == nullptr)
        return PAM_CONV_ERR;
    pam_message message{style, text.c_str()};
    const pam_message* messages[] = {&message};
    pam_response* replies = nullptr;
    const int status = conv->conv(1, messages, &replies, conv->appdata_ptr);
    if (status == PAM_SUCCESS && reply != nullptr) {
        if (replies == nullptr || replies[0].resp == nullptr) {
            freeReplies(replies, 1);
            return PAM_CONV_ERR;
        }
        reply->assign(replies[0].resp);
    }
    freeReplies(replies, 1);
    return status;
}

std::optional<SecretString> PamConversation::askSecret(const std::string& prompt) {
    SecretString reply;
    if (converse(PAM_PROMPT_ECHO_OFF, prompt, &reply) != PAM_SUCCESS)
        return std::nullopt;
    return reply;
}

void PamConversation::error(const std::string& text) {
    if ((flags_ & PAM_SILENT) != 0)
        return;
    converse(PAM_ERROR_MSG, text, nullptr);
}

void PamConversation::info(const std::string& text) {
    if ((flags_ & PAM_SILENT) != 0)
        return;
    converse(PAM_TEXT_INFO, text, nullptr);
}

bool PamConversation::isLoginPassword(std::string_view answer) const {
    for (const int item : {PAM_AUTHTOK, PAM_OLDAUTHTOK}) {
        const void* value = nullptr;
        if (pam_get_item(pamh_, item, &value) != PAM_SUCCESS || value == nullptr)
            continue;
        const std::string_view password(static_cast<const char*>(value));
        // An empty password is no secret, and an empty answer asks for the code again.
        if (!password.empty() && sameText(answer, password))
            return true;
    }
    return false;
}

}  // namespace verif8
