set "CATALINA_OPTS=-javaagent:C:\FusionReactor\instance\tomcat9\fusionreactor.jar -Xmx2g"
