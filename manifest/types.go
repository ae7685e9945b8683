package manifest

import (
	"slices"
	"time"
)

// Manifest is an OCI image manifest or a Docker v2 schema 2 manifest; the
// two share one shape and differ in media types.
type Manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType,omitempty"`
	ArtifactType  string            `json:"artifactType,omitempty"`
	Config        Descriptor        `json:"config"`
	Layers        []Descriptor      `json:"layers"`
	Subject       *Descriptor       `json:"subject,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// Index is an OCI image index or a Docker manifest list.
type Index struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType,omitempty"`
	ArtifactType  string            `json:"artifactType,omitempty"`
	Manifests     []Descriptor      `json:"manifests"`
	Subject       *Descriptor       `json:"subject,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// Config is an image configuration: the OCI image spec's config.md, which
// Docker's image JSON extends with the fields marked as Docker's.
type Config struct {
	Created      *time.Time    `json:"created,omitempty"`
	Author       string        `json:"author,omitempty"`
	Architecture string        `json:"architecture"`
	OS           string        `json:"os"`
	OSVersion    string        `json:"os.version,omitempty"`
	OSFeatures   []string      `json:"os.features,omitempty"`
	Variant      string        `json:"variant,omitempty"`
	Config       RuntimeConfig `json:"config"`
	RootFS       RootFS        `json:"rootfs"`
	History      []History     `json:"history,omitempty"`

	// Docker's fields.
	Container       string         `json:"container,omitempty"`
	ContainerConfig *RuntimeConfig `json:"container_config,omitempty"`
	DockerVersion   string         `json:"docker_version,omitempty"`
}

// RuntimeConfig is the "config" object of an image config: how a
// container of the image runs.
type RuntimeConfig struct {
	User         string              `json:"User,omitempty"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
	Env          []string            `json:"Env,omitempty"`
	Entrypoint   []string            `json:"Entrypoint,omitempty"`
	Cmd          []string            `json:"Cmd,omitempty"`
	Volumes      map[string]struct{} `json:"Volumes,omitempty"`
	WorkingDir   string              `json:"WorkingDir,omitempty"`
	Labels       map[string]string   `json:"Labels,omitempty"`
	StopSignal   string              `json:"StopSignal,omitempty"`
	ArgsEscaped  bool                `json:"ArgsEscaped,omitempty"`
	Healthcheck  *Healthcheck        `json:"Healthcheck,omitempty"`
	Shell        []string            `json:"Shell,omitempty"`
	OnBuild      []string            `json:"OnBuild,omitempty"`

	// Docker's fields, kept so that editing a Docker config loses nothing
	// common.
	Hostname     string `json:"Hostname,omitempty"`
	Domainname   string `json:"Domainname,omitempty"`
	AttachStdin  bool   `json:"AttachStdin,omitempty"`
	AttachStdout bool   `json:"AttachStdout,omitempty"`
	AttachStderr bool   `json:"AttachStderr,omitempty"`
	Tty          bool   `json:"Tty,omitempty"`
	OpenStdin    bool   `json:"OpenStdin,omitempty"`
	StdinOnce    bool   `json:"StdinOnce,omitempty"`
	Image        string `json:"Image,omitempty"`
}

// Healthcheck is Docker's container health check.
type Healthcheck struct {
	Test        []string      `json:"Test,omitempty"`
	Interval    time.Duration `json:"Interval,omitempty"`
	Timeout     time.Duration `json:"Timeout,omitempty"`
	StartPeriod time.Duration `json:"StartPeriod,omitempty"`
	Retries     int           `json:"Retries,omitempty"`
}

// RootFS lists the uncompressed digests (diffIDs) of the image's layers.
type RootFS struct {
	Type    string   `json:"type"`
	DiffIDs []Digest `json:"diff_ids"`
}

// History describes how one layer, or one step without a layer, was made.
type History struct {
	Created    *time.Time `json:"created,omitempty"`
	CreatedBy  string     `json:"created_by,omitempty"`
	Author     string     `json:"author,omitempty"`
	Comment    string     `json:"comment,omitempty"`
	EmptyLayer bool       `json:"empty_layer,omitempty"`
}

// Platform returns the platform the config describes.
func (c *Config) Platform() Platform {
	return Platform{Architecture: c.Architecture, OS: c.OS, OSVersion: c.OSVersion,
		OSFeatures: slices.Clone(c.OSFeatures), Variant: c.Variant}
}
