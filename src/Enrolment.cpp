// Enrolment: the users file format and its lookups.
#include "verif8/Enrolment.hpp"

#include <algorithm>

#include "verif8/SafeFile.hpp"
#include "verif8/TextUtil.hpp"

namespace verif8 {

namespace {
bool isCommentOrBlank(std::string_view line) {
    line = trim(line);
    return line.empty() || line.front() == '#';
}

Result<std::vector<Channel>> parseChannels(std::string_view list) {
    std::vector<Channel> channels;
    for (std::string_view name : split(list, ",", EmptyFields::Keep)) {
        const auto channel = parseChannel(name);
        if (!channel)
            return Problem("unknown channel '" + sanitizeForMessage(name) +
                           "' (expected sms, voice, whatsapp or viber, separated by commas)");
        if (std::find(channels.begin(), channels.end(), *channel) != channels.end())
            return Problem("channel '" + std::string(name) + "' is listed twice");
        channels.push_back(*channel);
    }
    return channels;
}
}  // namespace

std::string_view enrolmentLineUser(std::string_view line) {
    if (isCommentOrBlank(line))
        return {};
    line = trim(line);
    return line.substr(0, line.find_first_of(kBlanks));
}

bool isValidPhone(std::string_view phone) {
    if (phone.size() < 9 || phone.size() > 16 || phone.front() != '+')
        return false;
    return std::all_of(phone.begin() + 1, phone.end(), isAsciiDigit);
}

Result<Enrolment> parseEnrolmentLine(std::string_view line, Channel defaultChannel) {
    const bool hasControlBesidesTab = std::any_of(line.begin(), line.end(), [](char c) {
        return c != '\t' && hasControl(std::string_view(&c, 1));
    });
    if (hasControlBesidesTab)
        return Problem("contains control characters");
    const auto fields = split(line, kBlanks, EmptyFields::Skip);
    if (fields.size() < 2)
        return Problem("expected 'USER PHONE [CHANNEL,...]'");
    if (fields.size() > 3)
        return Problem("unexpected text after the channels: '" + sanitizeForMessage(fields[3]) +
                       "'");
    // Not quoted: a mistyped number is still somebody's phone number, and this reaches logs.
    if (!isValidPhone(fields[1]))
        return Problem("the phone number (" + std::to_string(fields[1].size()) +
                       " characters) is not in international form ('+' and 8 to 15 digits)");
    Enrolment entry;
    entry.user = std::string(fields[0]);
    entry.phone = std::string(fields[1]);
    if (fields.size() == 3) {
        auto channels = parseChannels(fields[2]);
        if (!channels)
            return channels.problem();
        entry.channels = std::move(channels).value();
    } else {
        // assign(), not "= {x}": GCC 14 warns (-Warray-bounds) on that form at -O2.
        entry.channels.assign(1, defaultChannel);
    }
    return entry;
}

EnrolmentLookup findEnrolment(std::string_view text, std::string_view user, Channel defaultChannel,
                              const std::string& source) {
    EnrolmentLookup lookup;
    int number = 0;
    int foundOn = 0;
    bool bad = false;
    forEachLine(text, [&](std::string_view line) {
        ++number;
        if (user.empty() || enrolmentLineUser(line) != user)
            return;
        auto entry = parseEnrolmentLine(line, defaultChannel);
        if (!entry) {
            lookup.problems.emplace_back(source + ":" + std::to_string(number) + ": " +
                                         entry.problem().text);
            bad = true;
        } else if (foundOn != 0) {
            lookup.problems.emplace_back(source + ":" + std::to_string(number) +
                                         ": user listed again (first on line " +
                                         std::to_string(foundOn) + ")");
            bad = true;
        } else {
            foundOn = number;
            lookup.entry = std::move(entry).value();
        }
    });
    if (bad || !lookup.entry) {
        // A bad line for the user may have been meant to change their phone: using an older
        // line instead could send the code to a phone the user no longer has.
        lookup.entry.reset();
        lookup.kind = EnrolmentLookup::Kind::NotEnrolled;
    } else {
        lookup.kind = EnrolmentLookup::Kind::Found;
    }
    return lookup;
}

EnrolmentList parseEnrolments(std::string_view text, Channel defaultChannel) {
    EnrolmentList list;
    std::vector<Enrolment>& entries = list.entries;
    int number = 0;
    forEachLine(text, [&](std::string_view line) {
        ++number;
        if (isCommentOrBlank(line))
            return;
        auto entry = parseEnrolmentLine(line, defaultChannel);
        if (!entry) {
            list.problems.push_back({number, entry.problem().text});
            return;
        }
        const std::string& user = entry.value().user;
        const auto earlier = std::find_if(entries.begin(), entries.end(),
                                          [&](const Enrolment& e) { return e.user == user; });
        if (earlier != entries.end()) {
            list.problems.push_back(
                {number, "user '" + sanitizeForMessage(user) + "' listed again"});
            return;
        }
        entries.push_back(std::move(entry).value());
    });
    return list;
}

Result<FileDescriptor> openUsersFile(const std::string& path, uid_t owner) {
    FileRules rules;
    rules.owner = owner;
    rules.access = Access::OthersMayRead;
    rules.maxSize = kMaxUsersFileSize;
    return openChecked(path, rules);
}

Result<SecretString> readUsersText(const FileDescriptor& file, const std::string& path) {
    auto text = readCapped(file, kMaxUsersFileSize);
    if (!text)
        return Problem(path + ": " + text.problem().text);
    if (text.value().view().find('\0') != std::string_view::npos)
        return Problem(path + ": contains a NUL byte: not a text file");
    return text;
}

Result<SecretString> readUsersFile(const std::string& path, uid_t owner) {
    const auto file = openUsersFile(path, owner);
    if (!file)
        return file.problem();
    return readUsersText(file.value(), path);
}

EnrolmentLookup UsersFile::find(const std::string& user) {
    const auto text = readUsersFile(path_, owner_);
    if (!text) {
        EnrolmentLookup lookup;
        lookup.kind = EnrolmentLookup::Kind::Unavailable;
        lookup.problems.emplace_back(text.problem().text);
        return lookup;
    }
    return findEnrolment(text.value().view(), user, defaultChannel_, path_);
}

}  // namespace verif8
