import { Fn, Stack, type StackProps } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config';
import { CrmNetwork } from '../constructs/crm-network';
import { DefaultSecurityGroupLockdown } from '../constructs/default-security-group-lockdown';
import { EncryptionKey } from '../constructs/log-encryption-key';
import { retentionDays } from './retention';

export interface NetworkStackProps extends StackProps {
  readonly config: EnvironmentConfig;
}

/** Stateful: the VPC, its subnets, endpoints, NACLs and flow logs. */
export class NetworkStack extends Stack {
  public readonly network: CrmNetwork;

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, { ...props, terminationProtection: props.config.terminationProtection });
    const { config } = props;
    const logKey = new EncryptionKey(this, 'LogKey', {
      alias: `crm-${config.name}-network-logs`,
      description: `CRM ${config.name}: VPC flow logs`,
    }).key;
    this.network = new CrmNetwork(this, 'Network', {
      cidr: config.network.cidr,
      azCount: config.network.azCount,
      natGateways: config.network.natGateways,
      databasePort: config.database.port,
      logKey,
      logRetention: retentionDays(config.logRetentionDays),
    });
    new DefaultSecurityGroupLockdown(this, 'DefaultSecurityGroupLockdown', {
      vpc: this.network.vpc,
      encryptionKey: logKey,
      logRetention: retentionDays(config.logRetentionDays),
    });
  }

  /**
   * AZs without a context lookup: `Fn::GetAZs` picked by index works offline, with no
   * credentials, in any region with at least `azCount` zones (rule 3 of the architecture).
   */
  public override get availabilityZones(): string[] {
    return [0, 1, 2].map((i) => Fn.select(i, Fn.getAzs()));
  }

  public get vpc(): ec2.Vpc {
    return this.network.vpc;
  }
}
