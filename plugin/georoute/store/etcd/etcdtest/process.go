package etcdtest

import (
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Process is a one-member etcd run from a binary (Debian's etcd-server: /usr/bin/etcd), on
// loopback ports found free, its data in the test's temporary folder. It stops when the test
// ends.
type Process struct {
	t            testing.TB
	bin, dir     string
	client, peer string
	cmd          *exec.Cmd
	exited       chan struct{}
	out          strings.Builder
}

// StartProcess starts bin and waits until it answers.
func StartProcess(t testing.TB, bin string) *Process {
	t.Helper()
	p := &Process{t: t, bin: bin, dir: t.TempDir()}
	for attempt := 0; ; attempt++ {
		p.client, p.peer = freePort(t), freePort(t)
		err := p.start()
		if err == nil {
			break
		}
		if attempt == 4 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatalf("etcd %s: %v", bin, err)
		}
	}
	t.Cleanup(p.Stop)
	return p
}

// Endpoints is the member's client address.
func (p *Process) Endpoints() []string { return []string{p.client} }

func (p *Process) start() error {
	p.out.Reset()
	p.cmd = exec.Command(p.bin, "--name", "etcdtest", "--data-dir", p.dir,
		"--listen-client-urls", "http://"+p.client, "--advertise-client-urls", "http://"+p.client,
		"--listen-peer-urls", "http://"+p.peer, "--initial-advertise-peer-urls", "http://"+p.peer,
		"--initial-cluster", "etcdtest=http://"+p.peer)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		return err
	}
	p.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) { cmd.Wait(); close(exited) }(p.cmd, p.exited)
	hc := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-p.exited:
			return fmt.Errorf("exited: %s", p.out.String())
		default:
		}
		if resp, err := hc.Get("http://" + p.client + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
	}
	p.Stop()
	return fmt.Errorf("not ready after 30 s: %s", p.out.String())
}

// Stop kills the process.
func (p *Process) Stop() {
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Kill()
		<-p.exited
		p.cmd = nil
	}
}

// Restart starts the member again on its ports and data.
func (p *Process) Restart() {
	p.t.Helper()
	if p.cmd != nil {
		return
	}
	if err := p.start(); err != nil {
		p.t.Fatalf("etcd %s: %v", p.bin, err)
	}
}
