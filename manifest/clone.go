package manifest

import (
	"bytes"
	"maps"
	"slices"
	"time"
)

// Clone returns a deep copy of d: changing the copy's URLs, annotations,
// data or platform leaves d as it is.
func (d Descriptor) Clone() Descriptor {
	d.URLs = slices.Clone(d.URLs)
	d.Annotations = maps.Clone(d.Annotations)
	d.Data = bytes.Clone(d.Data)
	if d.Platform != nil {
		p := *d.Platform
		p.OSFeatures = slices.Clone(p.OSFeatures)
		d.Platform = &p
	}
	return d
}

// Clone returns a deep copy of d, raw bytes and parsed form alike; nil
// for a nil d.
func (d *Document) Clone() *Document {
	if d == nil {
		return nil
	}
	c := *d
	c.Raw = bytes.Clone(d.Raw)
	if d.Manifest != nil {
		m := *d.Manifest
		m.Config = m.Config.Clone()
		m.Layers = cloneDescriptors(m.Layers)
		m.Subject = cloneSubject(m.Subject)
		m.Annotations = maps.Clone(m.Annotations)
		c.Manifest = &m
	}
	if d.Index != nil {
		ix := *d.Index
		ix.Manifests = cloneDescriptors(ix.Manifests)
		ix.Subject = cloneSubject(ix.Subject)
		ix.Annotations = maps.Clone(ix.Annotations)
		c.Index = &ix
	}
	return &c
}

func cloneDescriptors(ds []Descriptor) []Descriptor {
	if ds == nil {
		return nil
	}
	out := make([]Descriptor, len(ds))
	for i, d := range ds {
		out[i] = d.Clone()
	}
	return out
}

func cloneSubject(s *Descriptor) *Descriptor {
	if s == nil {
		return nil
	}
	c := s.Clone()
	return &c
}

// Clone returns a deep copy of c: changing the copy's slices, maps or
// pointed-to values leaves c as it is.
func (c Config) Clone() Config {
	c.Created = cloneTime(c.Created)
	c.OSFeatures = slices.Clone(c.OSFeatures)
	c.Config = c.Config.clone()
	c.RootFS.DiffIDs = slices.Clone(c.RootFS.DiffIDs)
	c.History = slices.Clone(c.History)
	for i := range c.History {
		c.History[i].Created = cloneTime(c.History[i].Created)
	}
	if c.ContainerConfig != nil {
		rc := c.ContainerConfig.clone()
		c.ContainerConfig = &rc
	}
	return c
}

func (rc RuntimeConfig) clone() RuntimeConfig {
	rc.ExposedPorts = maps.Clone(rc.ExposedPorts)
	rc.Env = slices.Clone(rc.Env)
	rc.Entrypoint = slices.Clone(rc.Entrypoint)
	rc.Cmd = slices.Clone(rc.Cmd)
	rc.Volumes = maps.Clone(rc.Volumes)
	rc.Labels = maps.Clone(rc.Labels)
	rc.Shell = slices.Clone(rc.Shell)
	rc.OnBuild = slices.Clone(rc.OnBuild)
	if rc.Healthcheck != nil {
		h := *rc.Healthcheck
		h.Test = slices.Clone(h.Test)
		rc.Healthcheck = &h
	}
	return rc
}

func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}
