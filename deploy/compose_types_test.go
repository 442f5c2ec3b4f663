package deploy

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// The compose file as the tests read it.

type composeFile struct {
	Services map[string]service `yaml:"services"`
}

type service struct {
	Image       string      `yaml:"image"`
	Build       *build      `yaml:"build"`
	Ports       []port      `yaml:"ports"`
	Environment environment `yaml:"environment"`
	Entrypoint  command     `yaml:"entrypoint"`
	Command     command     `yaml:"command"`
	Volumes     []string    `yaml:"volumes"`
	Tmpfs       command     `yaml:"tmpfs"`
	DependsOn   dependsOn   `yaml:"depends_on"`
	Networks    networks    `yaml:"networks"`
}

// networks is a list of names, or a mapping of names to settings (what `docker-compose
// config` prints).
type networks []string

func (ns *networks) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		var m map[string]any
		if err := n.Decode(&m); err != nil {
			return err
		}
		*ns = sortedKeys(m)
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return err
	}
	*ns = list
	return nil
}

// build is `build: DIR` or `build: {context, dockerfile}`.
type build struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
	Target     string `yaml:"target"`
}

func (b *build) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		b.Context = n.Value
		return nil
	}
	type plain build
	return n.Decode((*plain)(b))
}

func (b *build) dockerfilePath(base string) string {
	df := b.Dockerfile
	if df == "" {
		df = "Dockerfile"
	}
	if filepath.IsAbs(df) {
		return df
	}
	return filepath.Join(base, b.Context, df)
}

// port is "[HOST_IP:]PUBLISHED:TARGET[/proto]" or the long syntax.
type port struct {
	HostIP    string `yaml:"host_ip"`
	Published int    `yaml:"published"`
	Target    int    `yaml:"target"`
}

func (p *port) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		type plain port
		return n.Decode((*plain)(p))
	}
	spec, _, _ := strings.Cut(n.Value, "/")
	parts := strings.Split(spec, ":")
	var err error
	switch len(parts) {
	case 1:
		p.Target, err = strconv.Atoi(parts[0])
	case 2:
		if p.Published, err = strconv.Atoi(parts[0]); err == nil {
			p.Target, err = strconv.Atoi(parts[1])
		}
	case 3:
		p.HostIP = parts[0]
		if p.Published, err = strconv.Atoi(parts[1]); err == nil {
			p.Target, err = strconv.Atoi(parts[2])
		}
	default:
		err = fmt.Errorf("cannot read port %q", n.Value)
	}
	return err
}

// environment is a mapping or a list of KEY=VALUE.
type environment map[string]string

func (e *environment) UnmarshalYAML(n *yaml.Node) error {
	*e = environment{}
	if n.Kind == yaml.SequenceNode {
		var list []string
		if err := n.Decode(&list); err != nil {
			return err
		}
		for _, kv := range list {
			k, v, _ := strings.Cut(kv, "=")
			(*e)[k] = v
		}
		return nil
	}
	var m map[string]any
	if err := n.Decode(&m); err != nil {
		return err
	}
	for k, v := range m {
		if v == nil {
			(*e)[k] = ""
		} else {
			(*e)[k] = fmt.Sprint(v)
		}
	}
	return nil
}

// command is a string or a list of strings.
type command []string

func (c *command) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*c = strings.Fields(n.Value)
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return err
	}
	*c = list
	return nil
}

// dependsOn maps each dependency to its condition (service_started for the list form).
type dependsOn map[string]string

func (d *dependsOn) UnmarshalYAML(n *yaml.Node) error {
	*d = dependsOn{}
	if n.Kind == yaml.SequenceNode {
		var list []string
		if err := n.Decode(&list); err != nil {
			return err
		}
		for _, s := range list {
			(*d)[s] = "service_started"
		}
		return nil
	}
	var m map[string]struct {
		Condition string `yaml:"condition"`
	}
	if err := n.Decode(&m); err != nil {
		return err
	}
	for k, v := range m {
		(*d)[k] = v.Condition
	}
	return nil
}

func (d dependsOn) Names() []string { return sortedKeys(d) }

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	if err := yaml.Unmarshal([]byte(readFile(t, composePath)), &c); err != nil {
		t.Fatalf("parse %s: %v", composePath, err)
	}
	if len(c.Services) == 0 {
		t.Fatalf("%s has no services", composePath)
	}
	return c
}

// flagValue finds --flag=value or --flag value in a command.
func flagValue(cmd []string, flag string) string {
	for i, a := range cmd {
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v
		}
		if a == flag && i+1 < len(cmd) {
			return cmd[i+1]
		}
	}
	return ""
}

// volumeAt returns the source of the volume mounted at target ("SOURCE:TARGET[:MODE]").
func volumeAt(volumes []string, target string) string {
	for _, v := range volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && filepath.Clean(parts[1]) == filepath.Clean(target) {
			return parts[0]
		}
	}
	return ""
}
