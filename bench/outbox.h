/* The sandbox's outbox (one JSON object a line), read the simple way the benchmark can afford:
 * the newest code delivered to a phone since a given offset. */
#ifndef VERIF8_BENCH_OUTBOX_H
#define VERIF8_BENCH_OUTBOX_H

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Where the outbox ends now (0 when it does not exist yet). */
static long outbox_end(const char* path) {
    FILE* file = fopen(path, "r");
    if (file == NULL)
        return 0;
    fseek(file, 0, SEEK_END);
    const long end = ftell(file);
    fclose(file);
    return end < 0 ? 0 : end;
}

/* The newest code delivered to PHONE after START, waiting up to 2 s for it; "" if none came. */
static void delivered_code(const char* path, long start, const char* phone, char* code,
                           size_t size) {
    char destination[128];
    snprintf(destination, sizeof destination, "\"destination\": \"%s\"", phone);
    code[0] = '\0';
    for (int round = 0; round < 2000 && code[0] == '\0'; ++round) {
        FILE* file = fopen(path, "r");
        if (file != NULL) {
            char line[4096];
            fseek(file, start, SEEK_SET);
            while (fgets(line, sizeof line, file) != NULL) {
                const char* at = strstr(line, "\"code\": \"");
                if (at == NULL || strstr(line, destination) == NULL)
                    continue;
                at += 9;
                const char* end = strchr(at, '"');
                const size_t length = end == NULL ? 0 : (size_t)(end - at);
                if (length > 0 && length < size) {
                    memcpy(code, at, length);
                    code[length] = '\0';
                }
            }
            fclose(file);
        }
        if (code[0] == '\0') {
            const struct timespec millisecond = {0, 1000000};
            nanosleep(&millisecond, NULL);
        }
    }
}

#endif
