"""Kubernetes manifests of the network: the base, one overlay per node, the Kafka backbone.

``deploy/k8s/base``: per service a Deployment, Service, PodDisruptionBudget, NetworkPolicy and
a CloudNativePG ``Cluster`` (its own PostgreSQL), the ConfigMaps of every setting, and the
hand-written collector. ``deploy/k8s/overlays/<code>``: the node's namespace, its code and public
URLs, and a KEDA ``ScaledObject`` per consuming service (its group is named after the node).
``deploy/k8s/backbone``: the Strimzi ``Kafka``, a ``KafkaTopic`` per topic and a ``KafkaUser`` per
node and service (writes only its own service's topics) and per partner (reads only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shulian_common.db import CONNECTIONS_PER_PROCESS
from shulian_common.deploy.network import Network, Node, Service, Topic, TopicKind
from shulian_common.deploy.settings_env import common_env, env_name, service_env
from shulian_common.deploy.yaml_out import env_file, yaml_documents

BASE = Path("deploy", "k8s", "base")
OVERLAYS = Path("deploy", "k8s", "overlays")
BACKBONE = Path("deploy", "k8s", "backbone")
TARGET = "kubernetes"
NODE_LABEL = "shulian.sichuan.gov.cn/node"
JWT_SECRET = "shulian-jwt"
KAFKA_CA_SECRET = "kafka-cluster-ca"
KAFKA_CA_DIR = "/etc/shulian/kafka-ca"
KUSTOMIZATION = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}
STRIMZI = "kafka.strimzi.io/v1"
KEDA = "keda.sh/v1alpha1"
# KEDA reads the consumer groups' lag over the TLS listener as this KafkaUser (describe only);
# each node namespace holds its login as the Secret KEDA_SECRET (keys username, password).
KEDA_USER = "keda"
KEDA_SECRET = "kafka-keda"
KEDA_AUTH = "kafka"
MAX_SURGE = 1  # extra pods of a Deployment during a rolling update
# PostgreSQL connections past the services' own: ops' psql, CloudNativePG's superuser reserve.
RESERVED_CONNECTIONS = 10
# Hand-written, next to the generated base: the collector and its configuration.
COLLECTOR_FILES = ("otel-collector.yaml",)


def render(network: Network) -> dict[Path, str]:
    """Every generated file under ``deploy/k8s``, by path."""
    files = _base(network)
    for node in network.nodes:
        files |= _overlay(network, node)
    files |= _backbone(network)
    return files


# --- base --------------------------------------------------------------------------------------


def _base(network: Network) -> dict[Path, str]:
    files = {BASE / "settings" / "common.env": env_file(common_env(network, TARGET))}
    for service in network.services:
        files[BASE / "settings" / f"{service.name}.env"] = env_file(
            service_env(network, service, TARGET)
        )
        files[BASE / f"{service.name}.yaml"] = yaml_documents(
            f"The {service.name} service of one node (and its PostgreSQL).",
            _service_resources(network, service),
        )
    kustomization = {
        **KUSTOMIZATION,
        "labels": [
            {
                "pairs": {"app.kubernetes.io/part-of": "shulian"},
                "includeSelectors": False,
                "includeTemplates": True,
            }
        ],
        "resources": [
            *COLLECTOR_FILES,
            *(f"{s.name}.yaml" for s in network.services),
            "keda.yaml",
        ],
        "configMapGenerator": [
            {"name": "shulian-common", "envs": ["settings/common.env"]},
            *(
                {"name": f"shulian-{s.name}", "envs": [f"settings/{s.name}.env"]}
                for s in network.services
            ),
            {"name": "otel-collector-config", "files": ["config.yaml=otel-collector-config.yaml"]},
        ],
        "images": [
            {"name": f"shulian-{s.name}", "newTag": network.config.kubernetes.image_tag}
            for s in network.services
        ],
    }
    files[BASE / "keda.yaml"] = yaml_documents(
        "How KEDA logs in to the brokers to read the consumer groups' lag (the overlays'\n"
        f"ScaledObjects refer to it): the KafkaUser {KEDA_USER} over TLS, from the Secrets\n"
        f"{KEDA_SECRET} and {KAFKA_CA_SECRET} that ops copy into the node's namespace.",
        [_trigger_authentication()],
    )
    files[BASE / "kustomization.yaml"] = yaml_documents(
        "One node's services. Not applied alone: an overlay (overlays/<code>) names the node.\n"
        f"Ops create in each node's namespace the Secret {JWT_SECRET} (key jwt-secret), and copy\n"
        f"from the backbone the brokers' CA as {KAFKA_CA_SECRET} (key ca.crt) and each service's\n"
        "KafkaUser Secret node-<code>-<service> as kafka-<service> (key password), and the\n"
        f"login of the KafkaUser {KEDA_USER} as {KEDA_SECRET} (keys username, password).",
        [kustomization],
    )
    return files


def _labels(name: str, component: str = "service") -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/component": component}


def _service_resources(network: Network, service: Service) -> list[dict[str, Any]]:
    name = service.name
    selector = {"app.kubernetes.io/name": name}
    return [
        _deployment(network, service),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "labels": _labels(name)},
            "spec": {
                "type": "ClusterIP",
                "selector": selector,
                "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "labels": _labels(name)},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector}},
        },
        _network_policy(network, service),
        _database(network, service),
    ]


def _database_name(service: Service) -> str:
    return f"{service.name}-db"


def _deployment(network: Network, service: Service) -> dict[str, Any]:
    name = service.name
    db = _database_name(service)
    probe: dict[str, Any] = {"httpGet": {"path": "/healthz", "port": "http"}}
    process: dict[str, Any] = {
        "image": f"shulian-{name}",
        "imagePullPolicy": "IfNotPresent",
        "envFrom": [
            {"configMapRef": {"name": "shulian-common"}},
            {"configMapRef": {"name": f"shulian-{name}"}},
        ],
        "env": [
            # CloudNativePG keeps the owner's credentials in <cluster>-app; the URL is built
            # from them by Kubernetes' $(VAR) expansion (its passwords are alphanumeric).
            _secret_env("DATABASE_USER", f"{db}-app", "username"),
            _secret_env("DATABASE_PASSWORD", f"{db}-app", "password"),
            {
                "name": env_name("database_url"),
                "value": "postgresql+asyncpg://$(DATABASE_USER):$(DATABASE_PASSWORD)"
                f"@{db}-rw:5432/{name}",
            },
            _secret_env(env_name("jwt_secret"), JWT_SECRET, "jwt-secret"),
            # The SCRAM password of the node's KafkaUser node-<code>-<service> (the overlay
            # names the user), copied by ops from the backbone's Secret of that name.
            _secret_env(env_name("kafka_sasl_password"), kafka_secret(service), "password"),
            {"name": env_name("service"), "value": name},
        ],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "kafka-ca", "mountPath": KAFKA_CA_DIR, "readOnly": True},
        ],
    }
    # The init step: the database upgraded to the image's migrations before the app starts
    # (replicas take turns under a PostgreSQL advisory lock). A failed migration shows as the
    # pod's Init:Error, and the app's own check at start then finds nothing to do.
    migrate = {
        "name": "migrate",
        **process,
        "command": ["shulian", "migrate", name],
        "resources": _resources(1),
    }
    container = {
        "name": "app",
        **process,
        "command": ["shulian", "serve", name],
        "ports": [{"name": "http", "containerPort": 8000}],
        "startupProbe": {**probe, "periodSeconds": 2, "failureThreshold": 90},
        "livenessProbe": {**probe, "periodSeconds": 10, "timeoutSeconds": 2, "failureThreshold": 3},
        "readinessProbe": {
            "httpGet": {"path": "/readyz", "port": "http"},
            "periodSeconds": 5,
            "timeoutSeconds": 3,
            "failureThreshold": 3,
        },
        # Let endpoints drop the pod before uvicorn stops accepting connections.
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}},
        "resources": _resources(network.workers(TARGET)),
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": _labels(name)},
        "spec": {
            # KEDA's ScaledObject (overlay) owns the count from here on, between its bounds.
            "replicas": network.config.kubernetes.min_replicas,
            "revisionHistoryLimit": 5,
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": MAX_SURGE, "maxUnavailable": 0},
            },
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "template": {
                "metadata": {"labels": _labels(name)},
                "spec": {
                    "automountServiceAccountToken": False,
                    # Service links would inject SHULIAN_PORT=tcp://… for a Service "shulian".
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10001,
                        "runAsGroup": 10001,
                        "fsGroup": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "kubernetes.io/hostname",
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": {"app.kubernetes.io/name": name}},
                        }
                    ],
                    "initContainers": [migrate],
                    "containers": [container],
                    "volumes": [
                        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                        # The brokers' CA (Strimzi's <cluster>-cluster-ca-cert, copied by ops).
                        {
                            "name": "kafka-ca",
                            "secret": {
                                "secretName": KAFKA_CA_SECRET,
                                "items": [{"key": "ca.crt", "path": "ca.crt"}],
                            },
                        },
                    ],
                },
            },
        },
    }


def _resources(workers: int) -> dict[str, Any]:
    """A container of ``workers`` processes: a core each at most, and each its own heap.

    One process serves on one core (``app.workers``), so the CPU limit is the worker count; each
    spawned worker holds its own heap (about 135 MiB after start-up), hence 160 MiB a worker
    past the first.
    """
    extra = 160 * (workers - 1)
    return {
        "requests": {"cpu": f"{100 * workers}m", "memory": f"{256 + extra}Mi"},
        "limits": {"cpu": str(workers), "memory": f"{512 + extra}Mi"},
    }


def max_connections(network: Network, service: Service) -> int:
    """``max_connections`` of a service's PostgreSQL: every process of its most pods at once.

    Its most pods are KEDA's maximum (or the fixed count of a service without a consumer) plus
    the rolling update's surge; each runs ``SHULIAN_WORKERS`` processes, each opening at most
    ``CONNECTIONS_PER_PROCESS``. PostgreSQL's default of 100 is below that from 5 pods on.
    """
    most = (
        max_replicas(network, service)
        if service.consumes
        else network.config.kubernetes.min_replicas
    )
    processes = (most + MAX_SURGE) * network.workers(TARGET)
    return processes * CONNECTIONS_PER_PROCESS + RESERVED_CONNECTIONS


def kafka_secret(service: Service) -> str:
    """The node-namespace Secret holding ``service``'s SCRAM password (key ``password``)."""
    return f"kafka-{service.name}"


def kafka_user(node: Node, service: Service) -> str:
    """The Strimzi KafkaUser (SCRAM user name) of ``service`` on ``node``."""
    return f"node-{node.code}-{service.name}"


def _secret_env(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def _network_policy(network: Network, service: Service) -> dict[str, Any]:
    """In: HTTP. Out: its own database, the brokers, the collector, DNS, partners' webhooks."""
    kafka = network.config.kafka
    tcp = [{"protocol": "TCP", "port": 9093}]  # the TLS + SCRAM listener
    private = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": service.name, "labels": _labels(service.name)},
        "spec": {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": service.name}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"ports": [{"protocol": "TCP", "port": 8000}]}],
            "egress": [
                {
                    "to": [
                        {
                            "podSelector": {
                                "matchLabels": {"cnpg.io/cluster": _database_name(service)}
                            }
                        }
                    ],
                    "ports": [{"protocol": "TCP", "port": 5432}],
                },
                {
                    "to": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": kafka.namespace}
                            },
                            "podSelector": {
                                "matchLabels": {
                                    "strimzi.io/cluster": kafka.cluster,
                                    "strimzi.io/kind": "Kafka",
                                }
                            },
                        }
                    ],
                    "ports": tcp,
                },
                {
                    "to": [
                        {
                            "podSelector": {
                                "matchLabels": {"app.kubernetes.io/name": "otel-collector"}
                            }
                        }
                    ],
                    "ports": [{"protocol": "TCP", "port": 4317}, {"protocol": "TCP", "port": 4318}],
                },
                {
                    "to": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                            },
                            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                        }
                    ],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                },
                {
                    # Partners' webhook endpoints: https on public addresses only.
                    "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": private}}],
                    "ports": [
                        {"protocol": "TCP", "port": network.config.kubernetes.webhook_egress_port}
                    ],
                },
            ],
        },
    }


def _database(network: Network, service: Service) -> dict[str, Any]:
    k8s = network.config.kubernetes
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": _database_name(service), "labels": _labels(service.name, "database")},
        "spec": {
            "instances": k8s.postgres_instances,
            "imageName": k8s.postgres_image,
            "primaryUpdateStrategy": "unsupervised",
            "storage": {"size": k8s.postgres_storage},
            "postgresql": {
                "parameters": {"max_connections": str(max_connections(network, service))}
            },
            "bootstrap": {"initdb": {"database": service.name, "owner": service.name}},
            "monitoring": {"enablePodMonitor": False},
        },
    }


# --- overlays ----------------------------------------------------------------------------------


def namespace_of(network: Network, node: Node) -> str:
    """The namespace of a node's services."""
    return f"{network.config.kubernetes.namespace_prefix}{node.code}"


def _overlay(network: Network, node: Node) -> dict[Path, str]:
    directory = OVERLAYS / node.code
    namespace = namespace_of(network, node)
    title = f"Node {node.code}, {node.name} ({node.name_en})"
    scaled = [_scaled_object(network, node, s) for s in network.services if s.consumes]
    kustomization = {
        **KUSTOMIZATION,
        "namespace": namespace,
        "labels": [
            {"pairs": {NODE_LABEL: node.code}, "includeSelectors": False, "includeTemplates": True}
        ],
        "resources": ["namespace.yaml", "../../base", "scaledobjects.yaml"],
        "configMapGenerator": [
            {
                "name": "shulian-common",
                "behavior": "merge",
                "literals": [f"{env_name('node_id')}={node.code}"],
            },
            *(
                {
                    "name": f"shulian-{s.name}",
                    "behavior": "merge",
                    "literals": [
                        f"{env_name('public_url')}={_public_url(network, node, s)}",
                        f"{env_name('kafka_sasl_username')}={kafka_user(node, s)}",
                    ],
                }
                for s in network.services
            ),
        ],
    }
    namespace_doc = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": namespace,
            "labels": {
                NODE_LABEL: node.code,
                # Every pod here meets the "restricted" Pod Security Standard.
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
            },
            "annotations": {"shulian.sichuan.gov.cn/name": f"{node.name} ({node.name_en})"},
        },
    }
    return {
        directory / "kustomization.yaml": yaml_documents(
            f"{title}:\n  kubectl kustomize {directory.as_posix()} | kubectl apply -f -\n"
            f"First create the Secrets {JWT_SECRET}, {KAFKA_CA_SECRET} and kafka-<service> in "
            f"{namespace} (deploy/README.md).",
            [kustomization],
        ),
        directory / "namespace.yaml": yaml_documents(f"{title}: its namespace.", [namespace_doc]),
        directory / "scaledobjects.yaml": yaml_documents(
            f"{title}: each consumer scaled on its group's lag, at most one pod per partition.",
            scaled,
        ),
    }


def _public_url(network: Network, node: Node, service: Service) -> str:
    return network.config.kubernetes.public_url.format(service=service.name, node=node.code)


def max_replicas(network: Network, service: Service) -> int:
    """The most pods of a consumer: one past the partitions its group reads would sit idle."""
    k8s = network.config.kubernetes
    return max(k8s.min_replicas, min(k8s.max_replicas, network.partitions_read(service)))


def _scaled_object(network: Network, node: Node, service: Service) -> dict[str, Any]:
    k8s = network.config.kubernetes
    return {
        "apiVersion": KEDA,
        "kind": "ScaledObject",
        "metadata": {"name": service.name, "labels": _labels(service.name)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": service.name},
            "minReplicaCount": k8s.min_replicas,
            "maxReplicaCount": max_replicas(network, service),
            "triggers": [
                {
                    "type": "kafka",
                    "metadata": {
                        "bootstrapServers": network.config.kafka.tls_bootstrap,
                        "consumerGroup": service.consumer_group(node.code),
                        "lagThreshold": str(k8s.lag_threshold),
                        "offsetResetPolicy": "earliest",
                        "allowIdleConsumers": "false",
                        "tls": "enable",
                        "sasl": "scram_sha512",
                    },
                    "authenticationRef": {"name": KEDA_AUTH},
                }
            ],
        },
    }


def _trigger_authentication() -> dict[str, Any]:
    """KEDA's login to the brokers: SCRAM over TLS, as the read-only KafkaUser ``keda``."""
    return {
        "apiVersion": KEDA,
        "kind": "TriggerAuthentication",
        "metadata": {"name": KEDA_AUTH, "labels": _labels("keda", "autoscaling")},
        "spec": {
            "secretTargetRef": [
                {"parameter": "username", "name": KEDA_SECRET, "key": "username"},
                {"parameter": "password", "name": KEDA_SECRET, "key": "password"},
                {"parameter": "ca", "name": KAFKA_CA_SECRET, "key": "ca.crt"},
            ]
        },
    }


# --- backbone ----------------------------------------------------------------------------------


def resource_name(topic: str) -> str:
    """A Kubernetes name for a topic (dots and underscores are not allowed in all names)."""
    return topic.lower().replace("_", "-").replace(".", "-")


def _backbone(network: Network) -> dict[Path, str]:
    kafka = network.config.kafka
    kustomization = {
        **KUSTOMIZATION,
        "namespace": kafka.namespace,
        "resources": ["namespace.yaml", "kafka.yaml", "topics.yaml", "users.yaml"],
    }
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": kafka.namespace}}
    return {
        BACKBONE / "kustomization.yaml": yaml_documents(
            "The provincial event backbone (Strimzi): kubectl kustomize deploy/k8s/backbone",
            [kustomization],
        ),
        BACKBONE / "namespace.yaml": yaml_documents("The backbone's namespace.", [namespace]),
        BACKBONE / "kafka.yaml": yaml_documents(
            "The Kafka cluster of the backbone (KRaft).", _kafka(network)
        ),
        BACKBONE / "topics.yaml": yaml_documents(
            "Every topic of the catalogue, its dead-letter topic and its policy.",
            [_kafka_topic(network, t) for t in network.topics],
        ),
        BACKBONE / "users.yaml": yaml_documents(
            "Kafka principals: each node's services (write only their own service's topics),\n"
            "KEDA (describes topics and the services' groups, reads nothing) and each partner\n"
            "of network.toml (read only the public event topics).",
            [
                *(_node_user(network, n, s) for n in network.nodes for s in network.services),
                _keda_user(network),
                *(partner_user(network, p.name, p.description) for p in network.config.partners),
            ],
        ),
    }


def _cluster_labels(network: Network) -> dict[str, str]:
    return {"strimzi.io/cluster": network.config.kafka.cluster}


def _kafka(network: Network) -> list[dict[str, Any]]:
    kafka = network.config.kafka
    scram = {"type": "scram-sha-512"}
    pool = {
        "apiVersion": STRIMZI,
        "kind": "KafkaNodePool",
        "metadata": {"name": "brokers", "labels": _cluster_labels(network)},
        "spec": {
            "replicas": kafka.brokers,
            "roles": ["controller", "broker"],
            "storage": {
                "type": "jbod",
                "volumes": [
                    {
                        "id": 0,
                        "type": "persistent-claim",
                        "size": kafka.storage,
                        "deleteClaim": False,
                        "kraftMetadata": "shared",
                    }
                ],
            },
        },
    }
    cluster = {
        "apiVersion": STRIMZI,
        "kind": "Kafka",
        "metadata": {"name": kafka.cluster},
        "spec": {
            "kafka": {
                "version": kafka.version,
                # Every client logs in: no listener admits an anonymous principal.
                "listeners": [
                    # SCRAM principals with the ACLs of users.yaml: each node's services (as
                    # node-<code>-<service>), KEDA (keda) and partners inside the cluster.
                    {
                        "name": "tls",
                        "port": 9093,
                        "type": "internal",
                        "tls": True,
                        "authentication": scram,
                    },
                    {
                        "name": "external",
                        "port": 9094,
                        "type": "loadbalancer",
                        "tls": True,
                        "authentication": scram,
                    },
                ],
                "authorization": {"type": "simple"},
                "config": {
                    "default.replication.factor": kafka.replicas,
                    "min.insync.replicas": kafka.min_insync_replicas,
                    "offsets.topic.replication.factor": kafka.replicas,
                    "transaction.state.log.replication.factor": kafka.replicas,
                    "transaction.state.log.min.isr": kafka.min_insync_replicas,
                    "num.partitions": network.config.topics.event.partitions,
                    # Topics come from topics.yaml (and the services' own ensure_topics).
                    "auto.create.topics.enable": False,
                },
            },
            "entityOperator": {"topicOperator": {}, "userOperator": {}},
        },
    }
    return [pool, cluster]


def _kafka_topic(network: Network, topic: Topic) -> dict[str, Any]:
    return {
        "apiVersion": STRIMZI,
        "kind": "KafkaTopic",
        "metadata": {
            "name": resource_name(topic.name),
            "labels": {
                **_cluster_labels(network),
                "shulian.sichuan.gov.cn/service": topic.service,
                "shulian.sichuan.gov.cn/topic-kind": topic.kind.value,
            },
        },
        "spec": {
            "topicName": topic.name,
            "partitions": topic.partitions,
            "replicas": network.config.kafka.replicas,
            "config": {
                "retention.ms": topic.retention_ms,
                "min.insync.replicas": network.config.kafka.min_insync_replicas,
                "cleanup.policy": "delete",
            },
        },
    }


def _acl(kind: str, name: str, operations: list[str], pattern: str = "literal") -> dict[str, Any]:
    return {
        "resource": {"type": kind, "name": name, "patternType": pattern},
        "operations": operations,
    }


def _node_user(network: Network, node: Node, service: Service) -> dict[str, Any]:
    own = [t for t in network.topics if t.service == service.name and t.kind is not TopicKind.DLT]
    dlts = [f"{topic}.DLT" for topic in service.consumes]
    acls = [
        *(_acl("topic", t.name, ["Write", "Describe", "Create"]) for t in own),
        *(_acl("topic", topic, ["Read", "Describe"]) for topic in service.consumes),
        *(_acl("topic", dlt, ["Write", "Describe", "Create"]) for dlt in dlts),
        _acl("group", service.consumer_group(node.code), ["Read", "Describe"]),
        _acl("cluster", "kafka-cluster", ["IdempotentWrite"]),
    ]
    return {
        "apiVersion": STRIMZI,
        "kind": "KafkaUser",
        "metadata": {
            "name": kafka_user(node, service),
            "labels": {**_cluster_labels(network), NODE_LABEL: node.code},
        },
        "spec": {
            "authentication": {"type": "scram-sha-512"},
            "authorization": {"type": "simple", "acls": acls},
        },
    }


def _keda_user(network: Network) -> dict[str, Any]:
    """KEDA's principal: enough to compute a group's lag (offsets, log ends), no record read."""
    acls = [
        _acl("topic", "shulian.", ["Describe"], "prefix"),
        *(_acl("group", f"{s.name}-", ["Describe"], "prefix") for s in network.services),
    ]
    return {
        "apiVersion": STRIMZI,
        "kind": "KafkaUser",
        "metadata": {
            "name": KEDA_USER,
            "labels": {**_cluster_labels(network), "shulian.sichuan.gov.cn/role": "autoscaler"},
        },
        "spec": {
            "authentication": {"type": "scram-sha-512"},
            "authorization": {"type": "simple", "acls": acls},
        },
    }


def partner_user(network: Network, name: str, description: str) -> dict[str, Any]:
    """A partner's read-only principal: the public event topics, groups ``partner.<name>.``."""
    kafka = network.config.kafka
    public = [t for t in network.topics if t.kind is TopicKind.EVENT]
    return {
        "apiVersion": STRIMZI,
        "kind": "KafkaUser",
        "metadata": {
            "name": f"partner-{name}",
            "labels": {**_cluster_labels(network), "shulian.sichuan.gov.cn/role": "partner"},
            "annotations": {"shulian.sichuan.gov.cn/description": description},
        },
        "spec": {
            "authentication": {"type": "scram-sha-512"},
            "authorization": {
                "type": "simple",
                "acls": [
                    *(_acl("topic", t.name, ["Read", "Describe"]) for t in public),
                    _acl("group", f"partner.{name}.", ["Read", "Describe"], "prefix"),
                ],
            },
            "quotas": {
                "consumerByteRate": kafka.partner_consumer_byte_rate,
                "requestPercentage": kafka.partner_request_percentage,
            },
        },
    }
