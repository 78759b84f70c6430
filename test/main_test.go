package test

import (
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
)

// childEnv makes the test binary run the appliance from the Corefile in that variable, as a
// process of its own that tests can kill.
const childEnv = "GEOROUTE_TEST_CHILD_COREFILE"

func TestMain(m *testing.M) {
	if corefile := os.Getenv(childEnv); corefile != "" {
		caddy.Quiet, dnsserver.Quiet = true, true
		inst, err := caddy.Start(caddy.CaddyfileInput{Contents: []byte(corefile), Filepath: "Corefile", ServerTypeName: "dns"})
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(3)
		}
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		inst.Stop()
		inst.ShutdownCallbacks()
		os.Exit(0)
	}
	os.Exit(m.Run())
}
