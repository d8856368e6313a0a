import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { acknowledge } from '../compliance';

/** The Cognito groups the CRM application authorizes by, in precedence order (lowest wins). */
export const CRM_GROUPS = ['admin', 'manager', 'sales', 'readonly'] as const;

export interface CrmUserPoolProps {
  /** Environment name; the pool is `crm-<name>-users`. */
  readonly environmentName: string;
  /** MFA (TOTP only): required, or optional for a development environment. */
  readonly mfa: 'required' | 'optional';
  /** Deletion protection and RETAIN on stack removal (the pool holds the users). */
  readonly protect: boolean;
}

/**
 * CRM users: administrators create accounts (no self sign-up), strong passwords, TOTP MFA,
 * Plus-tier threat protection enforced, the CRM role groups, and one public app client
 * (SRP sign-in, no OAuth, no client secret) whose ID tokens the API's authorizer accepts.
 */
export class CrmUserPool extends Construct {
  public readonly userPool: cognito.UserPool;
  public readonly client: cognito.UserPoolClient;

  constructor(scope: Construct, id: string, props: CrmUserPoolProps) {
    super(scope, id);
    this.userPool = new cognito.UserPool(this, 'UserPool', {
      userPoolName: `crm-${props.environmentName}-users`,
      selfSignUpEnabled: false,
      signInAliases: { email: true, username: false },
      signInCaseSensitive: false,
      autoVerify: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      passwordPolicy: {
        minLength: 14,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: props.mfa === 'required' ? cognito.Mfa.REQUIRED : cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { sms: false, otp: true },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      featurePlan: cognito.FeaturePlan.PLUS,
      standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
      deletionProtection: props.protect,
      removalPolicy: props.protect ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });

    CRM_GROUPS.forEach((group, precedence) => {
      new cognito.CfnUserPoolGroup(this, `${group[0].toUpperCase()}${group.slice(1)}Group`, {
        userPoolId: this.userPool.userPoolId,
        groupName: group,
        precedence,
        description: `CRM role: ${group}`,
      });
    });

    this.client = this.userPool.addClient('WebClient', {
      userPoolClientName: `crm-${props.environmentName}-web`,
      generateSecret: false,
      authFlows: { userSrp: true },
      disableOAuth: true,
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
    });

    if (props.mfa !== 'required') {
      const reason =
        'config api.mfa is optional for this environment (a development one, for test accounts); production sets it to required.';
      acknowledge(this.userPool, 'AwsSolutions-COG2', reason);
    }
  }
}
