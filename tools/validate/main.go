// Command validate checks deploy artifacts offline, the way the real tools load them:
//
//	validate compose FILE      loads a Compose file with compose-go (the library behind `docker compose`),
//	                           so schema errors, bad interpolation and broken depends_on all fail;
//	                           COMPOSE_PROFILES selects profiles as it does for `docker compose`.
//	validate compose-json FILE prints the project as compose-go resolves it (interpolation, merges, defaults,
//	                           each service's environment resolved from the process's), as JSON: what
//	                           `docker compose up` would run; scripts/images runs the images from it.
//	validate kustomize DIR     prints `kustomize build DIR` (what `kubectl apply -k DIR` applies).
//	validate k8s FILE...       strictly decodes every document of multi-document YAML files into the typed
//	                           Kubernetes API objects: unknown or duplicate fields and wrong types fail.
//	validate metrics FILE      parses a Prometheus text exposition (expfmt, as Prometheus tooling does) and
//	                           checks that histogram buckets are cumulative and end at the count.
//
// Exit status 1 with one line per problem; 0 prints one line per checked object.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: validate compose FILE | compose-json FILE | kustomize DIR | k8s FILE... | metrics FILE")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "compose":
		err = checkCompose(os.Args[2])
	case "compose-json":
		err = printCompose(os.Args[2])
	case "kustomize":
		err = buildKustomization(os.Args[2])
	case "k8s":
		err = checkKubernetes(os.Args[2:])
	case "metrics":
		err = checkMetrics(os.Args[2])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func loadCompose(file string) (*types.Project, error) {
	options, err := cli.NewProjectOptions([]string{file},
		cli.WithWorkingDirectory(filepath.Dir(file)), cli.WithOsEnv, cli.WithDefaultProfiles(),
		cli.WithConsistency(true))
	if err != nil {
		return nil, err
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return project, nil
}

func checkCompose(file string) error {
	project, err := loadCompose(file)
	if err != nil {
		return err
	}
	for _, name := range project.ServiceNames() {
		fmt.Printf("compose %s: service %s ok\n", file, name)
	}
	return nil
}

func printCompose(file string) error {
	project, err := loadCompose(file)
	if err != nil {
		return err
	}
	// `KEY:` without a value takes the caller's value, or is left out, as `docker compose up` does.
	if project, err = project.WithServicesEnvironmentResolved(true); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	out, err := project.MarshalJSON()
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(append(out, '\n'))
	return err
}

func checkKubernetes(files []string) error {
	decoder := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	var problems []error
	for _, file := range files {
		content, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		reader := utilyaml.NewYAMLReader(bufioReader(content))
		for index := 0; ; index++ {
			document, err := reader.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			if len(bytes.TrimSpace(stripComments(document))) == 0 {
				continue
			}
			_, kind, err := decoder.Decode(document, nil, nil)
			if err != nil {
				problems = append(problems, fmt.Errorf("%s document %d: %w", file, index, err))
				continue
			}
			fmt.Printf("k8s %s: %s ok\n", file, kind.Kind)
		}
	}
	return errors.Join(problems...)
}

func buildKustomization(dir string) error {
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	out, err := resources.AsYaml()
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(out)
	return err
}
