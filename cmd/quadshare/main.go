// Command quadshare runs a national node for sharing threat information with partner
// agencies: STIX 2.1 over TAXII 2.1, under agreed sharing rules.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"quadshare/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.StdEnv())
	stop()
	os.Exit(code)
}
