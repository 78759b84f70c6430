package store

// LogBytes is the size of b's change log as b keeps it.
func LogBytes(b *Bolt) int64 { return b.logBytes.Load() }
