package xds

// SetMutate installs a hook that changes the built resources before they
// are published; tests use it to make a client NACK.
func (s *Server) SetMutate(f func(*Resources)) {
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	s.mutate = f
}
