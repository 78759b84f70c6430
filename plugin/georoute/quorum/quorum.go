// Package quorum decides an edge's health from what several nodes observe of it: each node
// sharing a store probes the edges itself and says whether it sees each one up or down, and an
// edge counts as down only when enough of them see it down, so that one node's bad network does
// not drain an edge everywhere. It has no CoreDNS types.
package quorum

import (
	"github.com/georoute/appliance/plugin/pkg/health"
)

// Down reports whether a target counts as down when up nodes see it up and down nodes see it
// down (a node with no observation does not vote): at least need of them, or all that vote
// when fewer do; need 0 is a majority of those voting. decided is false when no node votes.
func Down(up, down, need int) (isDown, decided bool) {
	voters := up + down
	if voters == 0 {
		return false, false
	}
	if need <= 0 {
		return 2*down > voters, true
	}
	return down >= min(need, voters), true
}

// Board is what the other nodes last said of each target, by target and node: Up or Down
// (a node with no result yet has no entry). It is not safe for concurrent use.
type Board struct {
	votes map[string]map[string]health.State
}

// NewBoard returns an empty board.
func NewBoard() *Board { return &Board{votes: map[string]map[string]health.State{}} }

// Set records that node sees target in state s (Unknown removes its vote) and reports whether
// that changed the board.
func (b *Board) Set(target, node string, s health.State) bool {
	if s != health.Up && s != health.Down {
		return b.Remove(target, node)
	}
	nodes := b.votes[target]
	if nodes == nil {
		nodes = map[string]health.State{}
		b.votes[target] = nodes
	}
	old, ok := nodes[node]
	nodes[node] = s
	return !ok || old != s
}

// Remove forgets node's vote on target and reports whether it had one.
func (b *Board) Remove(target, node string) bool {
	nodes := b.votes[target]
	if _, ok := nodes[node]; !ok {
		return false
	}
	delete(nodes, node)
	if len(nodes) == 0 {
		delete(b.votes, target)
	}
	return true
}

// Reset forgets every vote and reports whether there were any.
func (b *Board) Reset() bool {
	had := len(b.votes) > 0
	clear(b.votes)
	return had
}

// Verdicts is whether each target the board holds a vote on is up, with this node's own vote
// (local: Up, Down, or Unknown for none) counted beside the others' and need as in Down.
// Targets no other node votes on are left out: this node's own view decides them alone.
func (b *Board) Verdicts(local func(target string) health.State, need int) map[string]bool {
	out := make(map[string]bool, len(b.votes))
	for target, nodes := range b.votes {
		up, down := tally(nodes)
		switch local(target) {
		case health.Up:
			up++
		case health.Down:
			down++
		}
		if isDown, ok := Down(up, down, need); ok {
			out[target] = !isDown
		}
	}
	return out
}

func tally(nodes map[string]health.State) (up, down int) {
	for _, s := range nodes {
		switch s {
		case health.Up:
			up++
		case health.Down:
			down++
		}
	}
	return up, down
}
