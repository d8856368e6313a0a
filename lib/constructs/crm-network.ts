import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge } from '../compliance';
import { ManagedPolicyRole } from './function-role';

export interface CrmNetworkProps {
  /** IPv4 CIDR of the VPC. */
  readonly cidr: string;
  /** Availability zones to span (2 or 3). */
  readonly azCount: number;
  /** NAT gateways (1 for dev; one per AZ for full AZ independence). */
  readonly natGateways: number;
  /** PostgreSQL port the isolated subnets admit from the private subnets. */
  readonly databasePort: number;
  /** Key for the flow log group. */
  readonly logKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
}

/** Interface endpoints Lambdas in the VPC need, so AWS API calls never depend on NAT. */
export const INTERFACE_ENDPOINTS = {
  SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
  Kms: ec2.InterfaceVpcEndpointAwsService.KMS,
  Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
  Monitoring: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
  Sns: ec2.InterfaceVpcEndpointAwsService.SNS,
  Rds: ec2.InterfaceVpcEndpointAwsService.RDS,
  Sts: ec2.InterfaceVpcEndpointAwsService.STS,
} as const;

/** Ephemeral ports of Linux clients (Lambda) for return traffic through the stateless NACLs. */
const EPHEMERAL = ec2.AclTraffic.tcpPortRange(1024, 65535);

/**
 * The private network: public subnets hold only NAT gateways, private subnets with egress hold
 * the Lambdas, isolated subnets hold the database. VPC endpoints for every AWS API the Lambdas
 * call, flow logs to an encrypted log group, and NACLs on the isolated subnets that admit only
 * the database port from the private subnets.
 */
export class CrmNetwork extends Construct {
  public readonly vpc: ec2.Vpc;
  public readonly endpoints: Readonly<Record<keyof typeof INTERFACE_ENDPOINTS, ec2.InterfaceVpcEndpoint>>;
  public readonly flowLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: CrmNetworkProps) {
    super(scope, id);
    if (props.natGateways < 1 || props.natGateways > props.azCount) {
      throw new Error(
        `CrmNetwork: natGateways must be between 1 and azCount (${props.azCount}), got ${props.natGateways}`,
      );
    }

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(props.cidr),
      maxAzs: props.azCount,
      natGateways: props.natGateways,
      // The default security group keeps no rules: the stack removes them (see DefaultSecurityGroupLockdown).
      restrictDefaultSecurityGroup: false,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
        { name: 'app', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
        { name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      gatewayEndpoints: {
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
      },
    });

    this.flowLogGroup = new logs.LogGroup(this, 'FlowLogGroup', {
      encryptionKey: props.logKey,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const flowLogRole = new ManagedPolicyRole(this, 'FlowLogRole', {
      assumedBy: new iam.ServicePrincipal('vpc-flow-logs.amazonaws.com'),
      description: 'VPC flow logs delivery to the flow log group',
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogGroup, flowLogRole),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });

    const endpoints: Partial<Record<keyof typeof INTERFACE_ENDPOINTS, ec2.InterfaceVpcEndpoint>> = {};
    for (const [name, service] of Object.entries(INTERFACE_ENDPOINTS) as [
      keyof typeof INTERFACE_ENDPOINTS,
      ec2.InterfaceVpcEndpointAwsService,
    ][]) {
      endpoints[name] = this.vpc.addInterfaceEndpoint(`${name}Endpoint`, {
        service,
        privateDnsEnabled: true,
        subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        open: false,
      });
      // HTTPS from inside the VPC only. The literal CIDR (not the VPC's attribute) keeps the rule
      // readable to the compliance checks.
      endpoints[name].connections.allowFrom(ec2.Peer.ipv4(props.cidr), ec2.Port.tcp(443), 'HTTPS from the VPC');
    }
    this.endpoints = endpoints as Record<keyof typeof INTERFACE_ENDPOINTS, ec2.InterfaceVpcEndpoint>;

    this.addDataSubnetAcl(props.databasePort);

    for (const subnet of this.vpc.publicSubnets) {
      const route = subnet.node.tryFindChild('DefaultRoute');
      if (route) {
        acknowledge(
          route,
          'NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW',
          'Public subnets hold only the NAT gateways, which need a default route to the internet gateway; no workload runs there and no public IPs are assigned on launch.',
        );
      }
    }
  }

  /**
   * NACL on the isolated subnets: in, only the database port from the private subnets (and
   * ephemeral return traffic from the VPC for the database's own outbound calls); out, only
   * ephemeral return traffic to the private subnets. Nothing to 22 or 3389, from anywhere.
   */
  private addDataSubnetAcl(dbPort: number): void {
    const acl = new ec2.NetworkAcl(this, 'DataSubnetAcl', {
      vpc: this.vpc,
      subnetSelection: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    });
    const appSubnets = this.vpc.privateSubnets as ec2.ISubnet[];
    appSubnets.forEach((subnet, i) => {
      acl.addEntry(`DbPortFromApp${i}`, {
        ruleNumber: 100 + i,
        cidr: ec2.AclCidr.ipv4(subnet.ipv4CidrBlock),
        traffic: ec2.AclTraffic.tcpPort(dbPort),
        direction: ec2.TrafficDirection.INGRESS,
        ruleAction: ec2.Action.ALLOW,
      });
      acl.addEntry(`ReturnToApp${i}`, {
        ruleNumber: 100 + i,
        cidr: ec2.AclCidr.ipv4(subnet.ipv4CidrBlock),
        traffic: EPHEMERAL,
        direction: ec2.TrafficDirection.EGRESS,
        ruleAction: ec2.Action.ALLOW,
      });
    });
    // Multi-AZ replication and RDS-managed traffic between the database's own subnets.
    this.vpc.isolatedSubnets.forEach((subnet, i) => {
      acl.addEntry(`DbPortFromData${i}`, {
        ruleNumber: 200 + i,
        cidr: ec2.AclCidr.ipv4(subnet.ipv4CidrBlock),
        traffic: ec2.AclTraffic.tcpPort(dbPort),
        direction: ec2.TrafficDirection.INGRESS,
        ruleAction: ec2.Action.ALLOW,
      });
      acl.addEntry(`ReturnToData${i}`, {
        ruleNumber: 200 + i,
        cidr: ec2.AclCidr.ipv4(subnet.ipv4CidrBlock),
        traffic: EPHEMERAL,
        direction: ec2.TrafficDirection.EGRESS,
        ruleAction: ec2.Action.ALLOW,
      });
    });
  }
}
