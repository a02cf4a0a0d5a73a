/* A C program that dies of abort(): its core is the "not a Go program" case of tests/test_bad_inputs.py.
 * It touches some heap and stack so that its core looks like any real one (several segments, one
 * thread, NT_FILE naming the executable). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *keep;

static void __attribute__((noinline)) crash(int depth) {
    char buf[256];
    memset(buf, 'A' + depth, sizeof buf);
    if (depth > 0) {
        crash(depth - 1);
        return;
    }
    keep = malloc(1 << 16);
    memcpy(keep, buf, sizeof buf);
    printf("CABORT-READY %p\n", (void *)keep);
    fflush(stdout);
    abort();
}

int main(void) {
    crash(3);
    return 0;
}
