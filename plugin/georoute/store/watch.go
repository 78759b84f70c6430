package store

import "context"

// Watch implements Store. A watcher reads the change log after each commit, so a slow one only
// falls behind, until the log is trimmed past it (ErrCompacted).
func (b *Bolt) Watch(ctx context.Context, from int64) <-chan WatchEvent {
	out := make(chan WatchEvent)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.isClosed {
		close(out)
		return out
	}
	b.watchers.Add(1)
	go b.watch(ctx, from, out)
	return out
}

func (b *Bolt) watch(ctx context.Context, from int64, out chan<- WatchEvent) {
	defer b.watchers.Done()
	defer close(out)
	send := func(e WatchEvent) bool {
		select {
		case out <- e:
			return true
		case <-ctx.Done():
		case <-b.closed:
		}
		return false
	}
	for {
		// Taken before reading, so that a commit after the read wakes this watcher.
		b.mu.Lock()
		changed := b.changed
		b.mu.Unlock()
		stopped := false
		err := b.Changes(from, func(e Event) error {
			if !send(WatchEvent{Event: e}) {
				stopped = true
				return context.Canceled
			}
			from = e.Rev
			return nil
		})
		if stopped {
			return
		}
		if err != nil {
			send(WatchEvent{Err: err})
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return
		case <-b.closed:
			return
		}
	}
}

// notify wakes the watchers after a commit.
func (b *Bolt) notify() {
	b.mu.Lock()
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
}
