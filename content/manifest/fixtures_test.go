package manifest

// Manifests in the shapes the common authoring tools write, made up for
// these tests (identifiers, titles and file names are invented).

const storyline12 = `<?xml version="1.0" encoding="utf-8" standalone="no" ?>
<manifest identifier="Storyline_6a1b2c3d" version="1.0"
  xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>
  <organizations default="Storyline_ORG">
    <organization identifier="Storyline_ORG">
      <title>Safe Referrals</title>
      <item identifier="Storyline_SCO" identifierref="Storyline_RES" isvisible="true">
        <title>Safe Referrals</title>
        <adlcp:masteryscore>80</adlcp:masteryscore>
      </item>
    </organization>
  </organizations>
  <resources>
    <resource identifier="Storyline_RES" type="webcontent" adlcp:scormtype="sco" href="index_lms.html">
      <file href="index_lms.html"/>
      <file href="story_content/data.js"/>
      <file href="lms/scormdriver.js"/>
    </resource>
  </resources>
</manifest>`

const storyline2004v4 = `<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="Storyline_4th" version="1"
  xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3"
  xmlns:adlseq="http://www.adlnet.org/xsd/adlseq_v1p3"
  xmlns:adlnav="http://www.adlnet.org/xsd/adlnav_v1p3"
  xmlns:imsss="http://www.imsglobal.org/xsd/imsss">
  <metadata><schema>ADL SCORM</schema><schemaversion>2004 4th Edition</schemaversion></metadata>
  <organizations default="ORG1">
    <organization identifier="ORG1" adlseq:objectivesGlobalToSystem="false">
      <title>Boundaries at Work</title>
      <item identifier="SCO1" identifierref="RES1">
        <title>Boundaries at Work</title>
        <adlcp:completionThreshold completedByMeasure="false" minProgressMeasure="0.9"/>
        <imsss:sequencing>
          <imsss:limitConditions attemptLimit="3" attemptAbsoluteDurationLimit="PT2H"/>
          <imsss:objectives>
            <imsss:primaryObjective objectiveID="PRIMARYOBJ" satisfiedByMeasure="true">
              <imsss:minNormalizedMeasure>0.75</imsss:minNormalizedMeasure>
            </imsss:primaryObjective>
          </imsss:objectives>
          <imsss:deliveryControls completionSetByContent="true" objectiveSetByContent="true"/>
        </imsss:sequencing>
      </item>
      <imsss:sequencing><imsss:controlMode choice="true" flow="true"/></imsss:sequencing>
    </organization>
  </organizations>
  <resources>
    <resource identifier="RES1" type="webcontent" adlcp:scormType="sco" href="index_lms.html">
      <file href="index_lms.html"/>
    </resource>
  </resources>
</manifest>`

const rise12 = `<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="rise-course-ab12" version="1.3"
  xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
  <metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>
  <organizations default="rise_org">
    <organization identifier="rise_org">
      <title>Plain Language Offers</title>
      <item identifier="item_1" identifierref="resource_1"><title>Plain Language Offers</title></item>
    </organization>
  </organizations>
  <resources>
    <resource identifier="resource_1" type="webcontent" adlcp:scormtype="sco" href="scormdriver/indexAPI.html">
      <file href="scormdriver/indexAPI.html"/>
      <file href="scormcontent/index.html"/>
    </resource>
  </resources>
</manifest>`

// captivate2004v3 is single-SCO with the threshold written as text, 3rd
// edition style, and a Windows byte-order mark.
const captivate2004v3 = "\ufeff" + `<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="Course_ID1_ORG" version="1.0"
  xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3"
  xmlns:imsss="http://www.imsglobal.org/xsd/imsss">
  <metadata><schema>ADL SCORM</schema><schemaversion>2004 3rd Edition</schemaversion></metadata>
  <organizations default="Course_ID1_ORG">
    <organization identifier="Course_ID1_ORG">
      <title>Link Worker Basics</title>
      <item identifier="SCO_ID1" identifierref="SCO_ID1_RES" parameters="?lang=en">
        <title>Link Worker Basics</title>
        <adlcp:completionThreshold>0.8</adlcp:completionThreshold>
        <adlcp:dataFromLMS>mode=review</adlcp:dataFromLMS>
      </item>
    </organization>
  </organizations>
  <resources>
    <resource identifier="SCO_ID1_RES" type="webcontent" adlcp:scormType="sco" href="index_scorm.html">
      <file href="index_scorm.html"/>
      <file href="SCORM_utilities.js"/>
    </resource>
  </resources>
</manifest>`

// ispring2004v2 is multi-SCO with nested items, xml:base on the
// resources and a SCORM 1.2-style CAM 1.3 version string.
const ispring2004v2 = `<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="ispring_3f9a" version="1.3"
  xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3"
  xmlns:imsss="http://www.imsglobal.org/xsd/imsss">
  <metadata><schema>ADL SCORM</schema><schemaversion>CAM 1.3</schemaversion></metadata>
  <organizations default="org">
    <organization identifier="org">
      <title>Working Across Sectors</title>
      <item identifier="part1">
        <title>Part 1</title>
        <item identifier="sco1" identifierref="res1"><title>Three worlds</title></item>
        <item identifier="sco2" identifierref="res2"><title>Shared language</title></item>
      </item>
      <item identifier="sco3" identifierref="res3" isvisible="false"><title>Glossary</title></item>
      <item identifier="empty"><title>Heading only</title></item>
    </organization>
  </organizations>
  <resources xml:base="content/">
    <resource identifier="res1" type="webcontent" adlcp:scormType="sco" xml:base="one/" href="index.html?page=1"><file href="index.html"/></resource>
    <resource identifier="res2" type="webcontent" adlcp:scormType="sco" xml:base="two" href="My%20Slides.html"><file href="My Slides.html"/></resource>
    <resource identifier="res3" type="webcontent" adlcp:scormType="asset" href="glossary.pdf"><file href="glossary.pdf"/></resource>
    <resource identifier="shared" type="webcontent" adlcp:scormType="asset"><file href="shared/player.js"/></resource>
  </resources>
</manifest>`

// adapt12 is written with no metadata block (the version comes from the
// ADL namespace) and lower-case attribute names.
const adapt12 = `<?xml version="1.0"?>
<manifest identifier="adapt_manifest" version="1"
  xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
  <organizations default="adapt_org">
    <organization identifier="adapt_org">
      <title>Co-design Basics</title>
      <item identifier="adapt_item" identifierref="adapt_res">
        <title>Co-design Basics</title>
        <adlcp:prerequisites type="aicc_script">intro</adlcp:prerequisites>
        <adlcp:maxtimeallowed>02:00:00</adlcp:maxtimeallowed>
        <adlcp:timelimitaction>continue,no message</adlcp:timelimitaction>
        <adlcp:datafromlms>lang=en</adlcp:datafromlms>
        <adlcp:masteryscore>75.5</adlcp:masteryscore>
      </item>
    </organization>
  </organizations>
  <resources>
    <resource identifier="adapt_res" type="webcontent" adlcp:scormtype="sco" href="index.html"><file href="index.html"/></resource>
  </resources>
</manifest>`

// elucidat2004v3 launches through a query string and item parameters.
const elucidat2004v3 = `<?xml version="1.0" encoding="utf-8"?>
<manifest identifier="elucidat_5e1" version="1.0"
  xmlns="http://www.imsglobal.org/xsd/imscp_v1p1" xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3">
  <metadata><schema>ADL SCORM</schema><schemaversion>2004 3rd Edition</schemaversion></metadata>
  <organizations default="o1">
    <organization identifier="o1">
      <title>Evaluation</title>
      <item identifier="i1" identifierref="r1" parameters="mode=normal#start"><title>Evaluation</title></item>
    </organization>
  </organizations>
  <resources>
    <resource identifier="r1" type="webcontent" adlcp:scormType="sco" href="launch.html?release=3"><file href="launch.html"/></resource>
  </resources>
</manifest>`

const storylineCMI5 = `<?xml version="1.0" encoding="utf-8"?>
<courseStructure xmlns="https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd">
  <course id="https://example.org/courses/safe-referrals">
    <title><langstring lang="en-US">Safe Referrals</langstring></title>
    <description><langstring lang="en-US">Referral basics.</langstring></description>
  </course>
  <au id="https://example.org/courses/safe-referrals/au" moveOn="CompletedOrPassed" masteryScore="0.8" launchMethod="AnyWindow">
    <title><langstring lang="en-US">Safe Referrals</langstring><langstring lang="en-GB">Safe Referrals (UK)</langstring></title>
    <description><langstring lang="en-US">One AU.</langstring></description>
    <url>index_lms.html</url>
    <launchParameters>{"resume":true}</launchParameters>
  </au>
</courseStructure>`

// blocksCMI5 interleaves AUs and blocks, with an external AU.
const blocksCMI5 = `<?xml version="1.0" encoding="utf-8"?>
<courseStructure xmlns="https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd">
  <course id="https://example.org/c"><title><langstring lang="en">Course</langstring></title></course>
  <au id="https://example.org/c/intro" activityType="http://adlnet.gov/expapi/activities/lesson">
    <title><langstring lang="en">Intro</langstring></title><url>intro/index.html</url>
  </au>
  <block id="https://example.org/c/b1">
    <title><langstring lang="en">Block one</langstring></title>
    <au id="https://example.org/c/b1/a" moveOn="Passed" launchMethod="OwnWindow">
      <title><langstring lang="en">A</langstring></title><url>./b1/../b1/a.html?x=1</url>
    </au>
    <block id="https://example.org/c/b1/inner">
      <title><langstring lang="en">Inner</langstring></title>
      <au id="https://example.org/c/b1/inner/b"><title><langstring lang="en">B</langstring></title><url>https://cdn.example.org/b.html</url></au>
    </block>
  </block>
  <au id="https://example.org/c/outro"><title><langstring lang="en">Outro</langstring></title><url>outro.html</url></au>
</courseStructure>`

const storylineTinCan = `<?xml version="1.0" encoding="utf-8" standalone="yes"?>
<tincan xmlns="http://projecttincan.com/tincan.xsd">
  <activities>
    <activity id="http://example.org/xapi/6Xk2" type="http://adlnet.gov/expapi/activities/course">
      <name lang="und">Communicating Offers</name>
      <description lang="und">An xAPI course.</description>
      <launch lang="und">story.html</launch>
    </activity>
    <activity id="http://example.org/xapi/6Xk2/obj1" type="http://adlnet.gov/expapi/activities/objective">
      <name lang="und">Objective 1</name>
    </activity>
  </activities>
</tincan>`

// riseTinCan has no course-typed activity.
const riseTinCan = `<?xml version="1.0" encoding="ISO-8859-1"?>
<tincan xmlns="http://projecttincan.com/tincan.xsd">
  <activities>
    <activity id="urn:uuid:1a2b" type="http://adlnet.gov/expapi/activities/module">
      <name lang="en-US">Caf` + "\xe9" + ` Conversations</name>
      <launch lang="en-US">index.html</launch>
    </activity>
  </activities>
</tincan>`
