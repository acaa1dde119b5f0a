package apisessions

import (
	"cmp"
	"slices"
)

// Summarize folds the day parts of one session into one summary: counts add,
// first and last seen take min and max, sets take the union, and key, user
// and role come from the earliest part that has them. Day is the earliest
// part's day. Parts of other sessions must not be mixed in.
func Summarize(parts []Session) Session {
	if len(parts) == 0 {
		return Session{}
	}
	ps := slices.Clone(parts)
	slices.SortFunc(ps, func(a, b Session) int { return a.FirstSeen.Compare(b.FirstSeen) })
	s := ps[0]
	s.Users = slices.Clone(s.Users)
	s.Roles = slices.Clone(s.Roles)
	s.ClientIPs = slices.Clone(s.ClientIPs)
	s.UserAgents = slices.Clone(s.UserAgents)
	s.Hosts = slices.Clone(s.Hosts)
	s.Applications = slices.Clone(s.Applications)
	s.Flows = slices.Clone(s.Flows)
	s.Endpoints = slices.Clone(s.Endpoints)
	s.Statuses = slices.Clone(s.Statuses)
	s.Methods = slices.Clone(s.Methods)
	s.AttackTypes = slices.Clone(s.AttackTypes)
	for _, p := range ps[1:] {
		if p.FirstSeen.Before(s.FirstSeen) {
			s.FirstSeen = p.FirstSeen
		}
		if p.LastSeen.After(s.LastSeen) {
			s.LastSeen = p.LastSeen
		}
		s.RequestCount += p.RequestCount
		s.AttackCount += p.AttackCount
		s.Blocked = s.Blocked || p.Blocked
		if s.Key.Value == "" {
			s.Key = p.Key
		}
		if s.User == "" {
			s.User = p.User
		}
		if s.Role == "" {
			s.Role = p.Role
		}
		s.Users = addNameCounts(s.Users, p.Users)
		s.Roles = addNameCounts(s.Roles, p.Roles)
		s.Flows = addNameCounts(s.Flows, p.Flows)
		s.Methods = addNameCounts(s.Methods, p.Methods)
		s.AttackTypes = addNameCounts(s.AttackTypes, p.AttackTypes)
		s.ClientIPs = union(s.ClientIPs, p.ClientIPs)
		s.UserAgents = union(s.UserAgents, p.UserAgents)
		s.Hosts = union(s.Hosts, p.Hosts)
		s.Applications = union(s.Applications, p.Applications)
		for _, e := range p.Endpoints {
			i := slices.IndexFunc(s.Endpoints, func(x EndpointCount) bool { return x.Endpoint == e.Endpoint })
			if i < 0 {
				s.Endpoints = append(s.Endpoints, e)
			} else {
				s.Endpoints[i].Requests += e.Requests
			}
		}
		for _, st := range p.Statuses {
			i := slices.IndexFunc(s.Statuses, func(x StatusCount) bool { return x.Status == st.Status })
			if i < 0 {
				s.Statuses = append(s.Statuses, st)
			} else {
				s.Statuses[i].Requests += st.Requests
			}
		}
	}
	slices.SortStableFunc(s.Endpoints, func(a, b EndpointCount) int { return cmp.Compare(b.Requests, a.Requests) })
	slices.SortFunc(s.Statuses, func(a, b StatusCount) int { return cmp.Compare(a.Status, b.Status) })
	return s
}

func addNameCounts(dst, src []NameCount) []NameCount {
	for _, c := range src {
		i := slices.IndexFunc(dst, func(x NameCount) bool { return x.Name == c.Name })
		if i < 0 {
			dst = append(dst, c)
		} else {
			dst[i].Requests += c.Requests
		}
	}
	slices.SortStableFunc(dst, func(a, b NameCount) int { return cmp.Compare(b.Requests, a.Requests) })
	return dst
}

func union[T comparable](dst, src []T) []T {
	for _, v := range src {
		if !slices.Contains(dst, v) {
			dst = append(dst, v)
		}
	}
	return dst
}
