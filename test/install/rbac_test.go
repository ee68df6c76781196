/*
Copyright 2026.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package install

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	sigsyaml "sigs.k8s.io/yaml"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/operator"
	"github.com/burner-operator/burner-operator/internal/operator/operatortest"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// TestChartRBACMatchesMarkers: the chart's ClusterRole grants exactly what the controller's RBAC markers generate.
func TestChartRBACMatchesMarkers(t *testing.T) {
	want := readYAML[rbacv1.ClusterRole](t, filepath.Join("config", "rbac", "role.yaml"))
	sameRules(t, chartRules(t, "ClusterRole", "-manager"), want.Rules, "config/rbac/role.yaml (run make manifests)")
}

// TestChartLeaderElectionRoleMatchesKustomize: both installs grant leader election the same, and only what
// controller-runtime's leader election uses (leases, and events to announce a new leader): no ConfigMaps.
func TestChartLeaderElectionRoleMatchesKustomize(t *testing.T) {
	want := readYAML[rbacv1.Role](t, filepath.Join("config", "rbac", "leader_election_role.yaml"))
	sameRules(t, chartRules(t, "Role", "-leader-election"), want.Rules, "config/rbac/leader_election_role.yaml")
	for _, r := range want.Rules {
		if slices.Contains(r.Resources, "configmaps") {
			t.Fatalf("the leader election Role grants ConfigMaps, which leader election on leases never uses: %v", r)
		}
	}
}

// chartRules are the rules of the chart's (default values) object of kind whose name ends in suffix.
func chartRules(t *testing.T, kind, suffix string) []rbacv1.PolicyRule {
	t.Helper()
	manifest := run(t, nil, tool(t, "HELM"), "template", "burner", "charts/burner-operator")
	for _, o := range objects(t, manifest) {
		if o.GetKind() == kind && strings.HasSuffix(o.GetName(), suffix) {
			var got struct{ Rules []rbacv1.PolicyRule }
			if err := sigsyaml.Unmarshal([]byte(sigsyamlString(t, o.Object)), &got); err != nil {
				t.Fatal(err)
			}
			return got.Rules
		}
	}
	t.Fatalf("no %s *%s in the chart", kind, suffix)
	return nil
}

func sameRules(t *testing.T, chart, want []rbacv1.PolicyRule, wantFrom string) {
	t.Helper()
	if !slices.EqualFunc(chart, want, func(a, b rbacv1.PolicyRule) bool {
		return sigsyamlString(t, a) == sigsyamlString(t, b)
	}) {
		t.Fatalf("chart rules differ from %s:\n%v\n%v", wantFrom, chart, want)
	}
}

// TestManagerRunsUnderInstalledRBAC installs the RBAC of install.yaml and runs the manager as its ServiceAccount
// (impersonated), with leader election as deployed: a session must become Ready, so the RBAC is what it needs.
func TestManagerRunsUnderInstalledRBAC(t *testing.T) {
	manifest := run(t, nil, tool(t, "KUSTOMIZE"), "build", "config/default")
	ns := ensureNamespace(t, manifest)
	cfg := installRBAC(t, manifest)

	f := operatortest.NewFlow(t, env)
	f.StartManagerWithConfig(cfg, func(o *operator.Options) {
		o.Manager.LeaderElection = true
		o.Manager.LeaderElectionNamespace = ns
	})
	f.CreateSession("pay", 300)
	f.WaitReady("pay")
	// A template change patches the token Secret's metadata, from the compacted copy the manager caches, and leaves
	// the token as it was.
	token := string(f.TokenSecret("pay").Data[tokensecret.KeyToken])
	patch := []byte(`{"spec":{"secretTemplate":{"labels":{"velero.io/exclude-from-backup":"true"}}}}`)
	bs := &burnerv1alpha1.BurnerSession{ObjectMeta: metav1.ObjectMeta{Namespace: f.NS, Name: "pay"}}
	if err := env.Client.Patch(t.Context(), bs, client.RawPatch(types.MergePatchType, patch)); err != nil {
		t.Fatal(err)
	}
	f.Eventually(30*time.Second, "the template's label on the token Secret", func() bool {
		return f.TokenSecret("pay").Labels["velero.io/exclude-from-backup"] == "true"
	})
	if string(f.TokenSecret("pay").Data[tokensecret.KeyToken]) != token {
		t.Fatal("the template change replaced or damaged the token")
	}
	if strings.Contains(f.Logs.String(), "forbidden") {
		t.Fatalf("the manager hit a forbidden request under the installed RBAC:\n%s", f.Logs.String())
	}
}

// installRBAC creates the ServiceAccount and the RBAC objects of rendered manifests (nothing else) and returns a
// config that impersonates that ServiceAccount. What it created is deleted when the test ends.
func installRBAC(t *testing.T, manifest []byte) *rest.Config {
	t.Helper()
	var sa *unstructured.Unstructured
	for _, o := range objects(t, manifest) {
		switch o.GetKind() {
		case "ServiceAccount":
			sa = o.DeepCopy()
		case "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
		default:
			continue
		}
		if err := env.Client.Create(t.Context(), o); client.IgnoreAlreadyExists(err) != nil {
			t.Fatalf("%s %s: %v", o.GetKind(), o.GetName(), err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(context.Background(), o) })
	}
	if sa == nil {
		t.Fatal("no ServiceAccount in the manifests")
	}
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: serviceAccountUser(sa.GetNamespace(), sa.GetName())}
	return cfg
}

// serviceAccountUser is the user name a ServiceAccount authenticates as.
func serviceAccountUser(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

// TestManagerRunsUnderNamespacedChartRBAC installs the chart's RBAC for a namespace-scoped install (watchNamespaces
// set to the app namespace, the release namespace holding the platform key) and runs the manager as its
// ServiceAccount with the same scope: sessions with an inline key and through a ClusterBurnerIssuer become Ready, an
// issuer whose key is missing says so with an event (recorded in "default"), nothing is forbidden, and the
// ServiceAccount cannot read Secrets anywhere else.
func TestManagerRunsUnderNamespacedChartRBAC(t *testing.T) {
	f := operatortest.NewFlow(t, env) // f.NS is the watched app namespace, with an inline key Secret.
	platform, unwatched := env.Namespace(t), env.Namespace(t)
	release := "burner-" + f.NS // cluster-scoped names unique to this test
	manifest := helmTemplate(t, platform, "--set", "fullnameOverride="+release, "--set", "crds.enabled=false",
		"--set", "rbac.userRoles.enabled=false", "--set", "watchNamespaces={"+f.NS+"}")
	args := sigsyamlString(t, find(t, manifest, "Deployment").Object)
	for _, want := range []string{"--watch-namespaces=" + f.NS, "--cluster-resource-namespace=" + platform} {
		if !strings.Contains(args, want) {
			t.Errorf("Deployment lacks %s", want)
		}
	}
	for _, o := range objects(t, manifest) {
		if o.GetKind() == "ClusterRole" && o.GetName() == release+"-manager" {
			t.Fatal("a namespace-scoped install still renders the cluster-wide manager ClusterRole")
		}
	}
	cfg := installRBAC(t, manifest)

	key := f.CreateKeySecret(platform, "platform-key")
	ready := operatortest.ClusterIssuer("platform-"+f.NS, f.URL, key.Name)
	broken := operatortest.ClusterIssuer("broken-"+f.NS, f.URL, "no-such-key")
	for _, o := range []client.Object{ready, broken} {
		if err := env.Client.Create(f.Ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		_ = env.Client.Delete(f.Ctx, ready)
		_ = env.Client.Delete(f.Ctx, broken)
	})

	f.StartManagerWithConfig(cfg, func(o *operator.Options) {
		o.WatchNamespaces = []string{f.NS}
		o.ClusterResourceNamespace = platform
		o.Manager.LeaderElection = true
		o.Manager.LeaderElectionNamespace = platform
	})
	f.CreateSession("inline", 300)
	f.CreateClusterIssuerSession("via-issuer", ready.Name)
	f.WaitReady("inline")
	f.WaitReady("via-issuer")
	if err := env.Client.Get(f.Ctx, client.ObjectKey{Namespace: platform, Name: operator.KeyIDSecret},
		&corev1.Secret{}); err != nil {
		t.Errorf("the manager did not keep its key_id secret in the cluster resource namespace: %v", err)
	}
	f.Eventually(30*time.Second, "the Warning event of the issuer without a key, in default", func() bool {
		var list eventsv1.EventList
		if err := env.Client.List(f.Ctx, &list, client.InNamespace(metav1.NamespaceDefault)); err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(list.Items, func(e eventsv1.Event) bool {
			return e.Regarding.Kind == burnerv1alpha1.ClusterBurnerIssuerKind && e.Regarding.Name == broken.Name
		})
	})
	if c := issuerReady(t, broken.Name); c == nil || c.Status != metav1.ConditionFalse {
		t.Fatalf("the issuer without a key is not Ready=False: %+v", c)
	}
	if strings.Contains(f.Logs.String(), "forbidden") {
		t.Fatalf("the manager hit a forbidden request under the namespace-scoped RBAC:\n%s", f.Logs.String())
	}

	sa := impersonatedClient(t, cfg)
	for _, tc := range []struct {
		namespace, verb string
		allowed         bool
	}{
		{f.NS, "get", true}, {platform, "get", true},
		{unwatched, "get", false}, {unwatched, "list", false}, {"", "list", false}, {"", "watch", false},
	} {
		if got := canAccessSecrets(t, sa, tc.namespace, tc.verb); got != tc.allowed {
			t.Errorf("the operator's ServiceAccount: %s secrets in namespace %q allowed=%v, want %v",
				tc.verb, tc.namespace, got, tc.allowed)
		}
	}
}

// TestChartNamespacedRBACSplitsGeneratedRules: in a namespace-scoped install, the small ClusterRole and the Roles
// together grant exactly the generated rules, the ClusterRole only what is cluster-scoped, the Roles nothing that is.
func TestChartNamespacedRBACSplitsGeneratedRules(t *testing.T) {
	generated := grants(readYAML[rbacv1.ClusterRole](t, filepath.Join("config", "rbac", "role.yaml")).Rules)
	manifest := helmTemplate(t, "ops", "--set", "watchNamespaces={app-a,app-b}",
		"--set", "clusterResourceNamespace=platform")
	cluster := map[string]bool{}
	namespaced := map[string]map[string]bool{}
	for _, o := range objects(t, manifest) {
		switch {
		case o.GetKind() == "ClusterRole" && strings.HasSuffix(o.GetName(), "-manager-cluster"):
			cluster = grants(rulesOf(t, o))
		case o.GetKind() == "Role" && strings.HasSuffix(o.GetName(), "-manager"):
			namespaced[o.GetNamespace()] = grants(rulesOf(t, o))
		case o.GetKind() == "ClusterRole" && strings.HasSuffix(o.GetName(), "-manager"):
			t.Error("the cluster-wide manager ClusterRole is rendered in a namespace-scoped install")
		}
	}
	if got := slices.Sorted(maps.Keys(namespaced)); !slices.Equal(got, []string{"app-a", "app-b", "platform"}) {
		t.Fatalf("manager Roles in %v, want the watched namespaces and the cluster resource namespace", got)
	}
	for g := range cluster {
		if !strings.Contains(g, "/namespaces:") && !strings.Contains(g, "/clusterburnerissuers") {
			t.Errorf("the cluster-wide ClusterRole grants %s", g)
		}
	}
	for ns, role := range namespaced {
		union := map[string]bool{}
		for g := range role {
			if cluster[g] {
				t.Errorf("the Role in %s grants the cluster-scoped %s", ns, g)
			}
			union[g] = true
		}
		for g := range cluster {
			union[g] = true
		}
		if !maps.Equal(union, generated) {
			t.Errorf("the ClusterRole and the Role in %s grant\n%v\nthe generated rules\n%v", ns,
				slices.Sorted(maps.Keys(union)), slices.Sorted(maps.Keys(generated)))
		}
	}
}

// TestUserRolesAggregation: the BurnerSession editor aggregates into admin and edit, the viewer into view, each
// granting exactly the BurnerSession verbs; no issuer role (and nothing else) aggregates anywhere; the chart's and
// config/rbac's roles are the same. Envtest runs no aggregation controller, so the labels are what is checked.
func TestUserRolesAggregation(t *testing.T) {
	for source, manifest := range map[string][]byte{
		"chart":     helmTemplate(t, "default"),
		"kustomize": run(t, nil, tool(t, "KUSTOMIZE"), "build", "config/default"),
	} {
		roles := userRoles(t, manifest)
		if len(roles) != 7 {
			t.Errorf("%s: %d user roles, want 7: %v", source, len(roles), slices.Sorted(maps.Keys(roles)))
		}
		for name, want := range map[string]struct {
			aggregateTo []string
			verbs       []string
		}{
			"burnersession-editor": {[]string{"admin", "edit"},
				[]string{"create", "delete", "get", "list", "patch", "update", "watch"}},
			"burnersession-viewer": {[]string{"view"}, []string{"get", "list", "watch"}},
		} {
			role, ok := roles[name]
			if !ok {
				t.Errorf("%s: no %s role", source, name)
				continue
			}
			if got := aggregatesTo(role); !slices.Equal(got, want.aggregateTo) {
				t.Errorf("%s: %s aggregates to %v, want %v", source, name, got, want.aggregateTo)
			}
			wantGrants := map[string]bool{}
			for _, v := range want.verbs {
				wantGrants["burner.aerosol.com/burnersessions:"+v] = true
			}
			wantGrants["burner.aerosol.com/burnersessions/status:get"] = true
			if got := grants(role.Rules); !maps.Equal(got, wantGrants) {
				t.Errorf("%s: %s grants %v", source, name, slices.Sorted(maps.Keys(got)))
			}
		}
		for _, o := range objects(t, manifest) {
			if o.GetKind() != "ClusterRole" {
				continue
			}
			name := userRoleName(o.GetName())
			if name == "burnersession-editor" || name == "burnersession-viewer" {
				continue
			}
			if got := aggregatesTo(clusterRoleOf(t, o)); len(got) > 0 {
				t.Errorf("%s: %s aggregates to %v", source, o.GetName(), got)
			}
		}
	}

	chart, kustomize := userRoles(t, helmTemplate(t, "default")),
		userRoles(t, run(t, nil, tool(t, "KUSTOMIZE"), "build", "config/default"))
	for name, role := range chart {
		other, ok := kustomize[name]
		if !ok || !maps.Equal(grants(role.Rules), grants(other.Rules)) ||
			!slices.Equal(aggregatesTo(role), aggregatesTo(other)) {
			t.Errorf("the chart's %s role differs from config/rbac's", name)
		}
	}

	for _, o := range objects(t, helmTemplate(t, "default", "--set", "rbac.userRoles.aggregateToDefaultRoles=false")) {
		if o.GetKind() == "ClusterRole" && len(aggregatesTo(clusterRoleOf(t, o))) > 0 {
			t.Errorf("aggregateToDefaultRoles=false: %s still aggregates", o.GetName())
		}
	}
	if roles := userRoles(t, helmTemplate(t, "default", "--set", "rbac.userRoles.enabled=false")); len(roles) > 0 {
		t.Errorf("userRoles.enabled=false still renders %v", slices.Sorted(maps.Keys(roles)))
	}
}

// TestNamespacedChartValuesAreChecked: the schema refuses a namespace name that is not one.
func TestNamespacedChartValuesAreChecked(t *testing.T) {
	for _, set := range []string{"watchNamespaces={Not_A_Namespace}", "clusterResourceNamespace=UPPER"} {
		out := helmFails(t, "template", "burner", chart, "--set", set)
		if !strings.Contains(out, strings.SplitN(set, "=", 2)[0]) {
			t.Errorf("--set %s failed without naming the value:\n%s", set, out)
		}
	}
}

func issuerReady(t *testing.T, name string) *metav1.Condition {
	t.Helper()
	ci := &burnerv1alpha1.ClusterBurnerIssuer{}
	if err := env.Client.Get(t.Context(), client.ObjectKey{Name: name}, ci); err != nil {
		t.Fatal(err)
	}
	return meta.FindStatusCondition(ci.Status.Conditions, burnerv1alpha1.ConditionReady)
}

func impersonatedClient(t *testing.T, cfg *rest.Config) client.Client {
	t.Helper()
	c, err := client.New(cfg, client.Options{Scheme: operator.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// canAccessSecrets asks the apiserver, as c's user, whether it may verb Secrets in namespace ("" for all).
func canAccessSecrets(t *testing.T, c client.Client, namespace, verb string) bool {
	t.Helper()
	review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: namespace, Verb: verb, Resource: "secrets"},
	}}
	if err := c.Create(t.Context(), review); err != nil {
		t.Fatal(err)
	}
	return review.Status.Allowed
}

// grants flattens rules into "group/resource:verb" strings.
func grants(rules []rbacv1.PolicyRule) map[string]bool {
	out := map[string]bool{}
	for _, r := range rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					out[fmt.Sprintf("%s/%s:%s", g, res, v)] = true
				}
			}
		}
	}
	return out
}

func clusterRoleOf(t *testing.T, o *unstructured.Unstructured) rbacv1.ClusterRole {
	t.Helper()
	var role rbacv1.ClusterRole
	if err := sigsyaml.Unmarshal([]byte(sigsyamlString(t, o.Object)), &role); err != nil {
		t.Fatal(err)
	}
	return role
}

func rulesOf(t *testing.T, o *unstructured.Unstructured) []rbacv1.PolicyRule {
	t.Helper()
	return clusterRoleOf(t, o).Rules
}

// userRoleName is the role's name without the chart's release prefix or kustomize's prefix and "-role" suffix, e.g.
// "burnersession-editor"; "" for a role that is not one of the user roles.
func userRoleName(name string) string {
	name = strings.TrimSuffix(name, "-role")
	for _, kind := range []string{"clusterburnerissuer", "burnerissuer", "burnersession"} {
		for _, role := range []string{"admin", "editor", "viewer"} {
			if strings.HasSuffix(name, "-"+kind+"-"+role) {
				return kind + "-" + role
			}
		}
	}
	return ""
}

// userRoles are the user-facing ClusterRoles of rendered manifests, by userRoleName.
func userRoles(t *testing.T, manifest []byte) map[string]rbacv1.ClusterRole {
	t.Helper()
	out := map[string]rbacv1.ClusterRole{}
	for _, o := range objects(t, manifest) {
		if name := userRoleName(o.GetName()); o.GetKind() == "ClusterRole" && name != "" {
			out[name] = clusterRoleOf(t, o)
		}
	}
	return out
}

// aggregatesTo lists the built-in roles a ClusterRole aggregates into (its aggregate-to-* labels set to "true").
func aggregatesTo(role rbacv1.ClusterRole) []string {
	var out []string
	for k, v := range role.Labels {
		if to, ok := strings.CutPrefix(k, "rbac.authorization.k8s.io/aggregate-to-"); ok && v == "true" {
			out = append(out, to)
		}
	}
	slices.Sort(out)
	return out
}
