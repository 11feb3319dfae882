# user/examples/examples.mk - the example programs, built by `make` (all)
# into build/examples/.  Included by the top Makefile.
#
#   echo_server [PORT]                   TCP echo, one G per connection
#   http_hello [PORT]                    keep-alive HTTP/1.1 "Hello, World!"
#   mncp [-g GS] [-b KB] SRC DST         file copy with many Gs
#   loadclient [-c N] [-d S] [-s B] PORT echo load: round trips/s, p50/p99

EXAMPLES	:= echo_server http_hello mncp loadclient
EXAMPLE_BINS	:= $(addprefix $(B)/examples/,$(EXAMPLES))
EXAMPLE_CFLAGS	:= -O2 -g -pthread -Wall -Wextra -Wno-unused-parameter \
		   -D_GNU_SOURCE -Iuser/include

$(B)/examples/%: user/examples/%.c user/include/mnsched.h $(USER_LIB)
	@mkdir -p $(@D)
	$(CC) $(EXAMPLE_CFLAGS) $< -o $@ $(USER_LIB) -luring -lpthread

.PHONY: examples
examples: $(EXAMPLE_BINS)
ALL_EXTRA += $(EXAMPLE_BINS)
