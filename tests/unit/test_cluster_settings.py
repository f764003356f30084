"""Client settings: the environment (and a client properties file) -> every client's configuration.

Half a configuration is an error that names what is missing and where it was set.
"""

from __future__ import annotations

import pytest

from envgrid.connectors.settings import ClusterSettingsError, client_security, cluster_settings
from envgrid.localcluster.addresses import ClientSecurity, ClusterAddresses
from envgrid.streams.app import broker_credentials

ADDRESSES = {"ENVGRID_BOOTSTRAP_SERVERS": "k1:9092,k2:9092", "ENVGRID_SCHEMA_REGISTRY_URL": "http://r:8080/apis/ccompat/v7"}
SASL = {"ENVGRID_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "ENVGRID_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "ENVGRID_KAFKA_SASL_USERNAME": "pipeline", "ENVGRID_KAFKA_SASL_PASSWORD": "s3cret"}


def test_no_security_settings_mean_a_plaintext_client():
    cluster = cluster_settings(ADDRESSES)
    assert cluster.kafka_config() == {"bootstrap.servers": "k1:9092,k2:9092"}
    assert cluster.registry_config() == {"url": "http://r:8080/apis/ccompat/v7"}
    assert broker_credentials(cluster.security) is None


def test_single_variables_become_the_standard_client_keys():
    cluster = cluster_settings({**ADDRESSES, **SASL, "ENVGRID_SCHEMA_REGISTRY_USER_INFO": "pipeline:r3g"})
    assert cluster.kafka_config({"group.id": "g", "sasl.password": "overridden by the client"}) == {
        "bootstrap.servers": "k1:9092,k2:9092", "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "pipeline", "sasl.password": "overridden by the client", "group.id": "g"}
    assert cluster.registry_config()["basic.auth.user.info"] == "pipeline:r3g"
    assert "s3cret" not in repr(cluster), "a password must not show in logs or tracebacks"
    assert cluster.env() == {**ADDRESSES, **SASL, "ENVGRID_SCHEMA_REGISTRY_USER_INFO": "pipeline:r3g"}


def test_faust_gets_the_same_credentials():
    security = client_security({**SASL, "ENVGRID_KAFKA_SECURITY_PROTOCOL": "sasl_plaintext",
                                "ENVGRID_KAFKA_SASL_MECHANISM": "scram-sha-512"})
    credentials = broker_credentials(security)
    assert (credentials.username, credentials.password) == ("pipeline", "s3cret")
    assert credentials.mechanism.value == "SCRAM-SHA-512" and credentials.protocol.value == "SASL_PLAINTEXT"
    ssl_credentials = broker_credentials(client_security(SASL))
    assert ssl_credentials.protocol.value == "SASL_SSL" and ssl_credentials.ssl_context is not None


def test_a_properties_file_is_read_and_exported_by_its_path(tmp_path):
    path = tmp_path / "pipeline.properties"
    written = ClientSecurity("SASL_PLAINTEXT", "SCRAM-SHA-512", "pipeline", "pw-1_x", registry_user_info="pipeline:pw-1_x")
    path.write_text(written.properties("the pipeline's credentials"))
    cluster = cluster_settings({**ADDRESSES, "ENVGRID_KAFKA_CONFIG": str(path)})
    assert cluster.kafka_config()["sasl.password"] == "pw-1_x"
    assert cluster.registry_config()["basic.auth.user.info"] == "pipeline:pw-1_x"
    assert cluster.env() == {**ADDRESSES, "ENVGRID_KAFKA_CONFIG": str(path)}, "no secret in the child's environment"
    assert "export ENVGRID_KAFKA_CONFIG=" in cluster.exports() and "pw-1_x" not in cluster.exports()


def test_variables_override_the_file_and_are_then_exported_one_by_one(tmp_path):
    path = tmp_path / "client.properties"
    path.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanisms=PLAIN\nsasl.username=a\nsasl.password=b\n")
    cluster = cluster_settings({**ADDRESSES, "ENVGRID_KAFKA_CONFIG": str(path), "ENVGRID_KAFKA_SASL_USERNAME": "c"})
    assert (cluster.security.mechanism, cluster.security.username, cluster.security.password) == ("PLAIN", "c", "b")
    assert "ENVGRID_KAFKA_CONFIG" not in cluster.env() and cluster.env()["ENVGRID_KAFKA_SASL_USERNAME"] == "c"


def test_a_java_tools_file_is_understood(tmp_path):
    path = tmp_path / "java.properties"
    path.write_text("# kafka-topics.sh --command-config\nsecurity.protocol = SASL_PLAINTEXT\nsasl.mechanism: SCRAM-SHA-256\n"
                    "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n"
                    '    username="ops" password="o-p";\n')
    security = client_security({"ENVGRID_KAFKA_CONFIG": str(path)})
    assert (security.username, security.password, security.mechanism) == ("ops", "o-p", "SCRAM-SHA-256")


def test_child_env_replaces_the_parents_cluster_and_credentials():
    cluster = ClusterAddresses("k:1", "http://r", ClientSecurity(config_file="/x/pipeline.properties"))
    parent = {"PATH": "/bin", "ENVGRID_KAFKA_SASL_USERNAME": "someone-else", "ENVGRID_BOOTSTRAP_SERVERS": "old:1"}
    assert cluster.child_env(parent) == {"PATH": "/bin", "ENVGRID_BOOTSTRAP_SERVERS": "k:1",
                                         "ENVGRID_SCHEMA_REGISTRY_URL": "http://r",
                                         "ENVGRID_KAFKA_CONFIG": "/x/pipeline.properties"}


@pytest.mark.parametrize("env, says", [
    ({"ENVGRID_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"},
     "sasl.mechanism, sasl.username, sasl.password are missing"),
    ({**SASL, "ENVGRID_KAFKA_SASL_PASSWORD": ""}, "sasl.password is missing"),
    ({"ENVGRID_KAFKA_SASL_USERNAME": "pipeline", "ENVGRID_KAFKA_SASL_PASSWORD": "x"},
     "ENVGRID_KAFKA_SASL_USERNAME, ENVGRID_KAFKA_SASL_PASSWORD set, but no security.protocol"),
    ({**SASL, "ENVGRID_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}, "PLAINTEXT, which sends no credentials"),
    ({**SASL, "ENVGRID_KAFKA_SECURITY_PROTOCOL": "SSL"}, "supports PLAINTEXT, SASL_PLAINTEXT, SASL_SSL"),
    ({**SASL, "ENVGRID_KAFKA_SASL_MECHANISM": "GSSAPI"}, "supports SCRAM-SHA-512, SCRAM-SHA-256, PLAIN"),
    ({"ENVGRID_SCHEMA_REGISTRY_USER_INFO": "no-colon"}, "must be user:password"),
])
def test_half_configured_security_is_an_error_naming_what_to_set(env, says):
    with pytest.raises(ClusterSettingsError) as error:
        cluster_settings({**ADDRESSES, **env})
    assert says in str(error.value)


def test_security_settings_without_addresses_are_an_error():
    with pytest.raises(ClusterSettingsError, match="ENVGRID_KAFKA_CONFIG is set but ENVGRID_BOOTSTRAP_SERVERS"):
        cluster_settings({"ENVGRID_KAFKA_CONFIG": "/x.properties"})


@pytest.mark.parametrize("text, says", [
    ("bootstrap.servers=k:9092\n", "line 1: bootstrap.servers is not a setting envgrid reads (set ENVGRID_BOOTSTRAP"),
    ("# c\nsecurity.protocol=SASL_SSL\nssl.keystore.location=/k.jks\n", "line 3: ssl.keystore.location is not"),
    ("security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\n", "sasl.username, sasl.password are missing"),
])
def test_a_bad_properties_file_is_named_with_its_line(tmp_path, text, says):
    path = tmp_path / "bad.properties"
    path.write_text(text)
    with pytest.raises(ClusterSettingsError) as error:
        cluster_settings({**ADDRESSES, "ENVGRID_KAFKA_CONFIG": str(path)})
    assert says in str(error.value) and str(path) in str(error.value)


def test_a_missing_properties_file_is_named():
    with pytest.raises(ClusterSettingsError, match="ENVGRID_KAFKA_CONFIG=/no/such.properties: cannot read it"):
        cluster_settings({**ADDRESSES, "ENVGRID_KAFKA_CONFIG": "/no/such.properties"})
