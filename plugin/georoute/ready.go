package georoute

// Ready implements the ready.Readiness interface: georoute is ready once its zones and config
// are loaded.
func (g *GeoRoute) Ready() bool { return g.state.Load() != nil }
